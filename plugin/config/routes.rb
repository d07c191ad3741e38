# frozen_string_literal: true

Forumsync::Engine.routes.draw do
  get "/capabilities" => "capabilities#show", :defaults => { format: :json }
  post "/posts" => "posts#create", :defaults => { format: :json }
  post "/posts/batch" => "batch_posts#create", :defaults => { format: :json }
  post "/users/by-email" => "batch_users#create", :defaults => { format: :json }
  get "/posts/by-message-id" => "posts#by_message_id", :defaults => { format: :json }
end

Discourse::Application.routes.draw { mount ::Forumsync::Engine, at: "/forumsync" }
