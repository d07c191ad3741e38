# frozen_string_literal: true

require_relative "../lib_helper"

RSpec.describe "Forumsync::API_KEY_SCOPES" do
  routes = File.read(File.join(PLUGIN_ROOT, "config", "routes.rb"))
  drawn = routes.scan(/=> "(\w+)#(\w+)"/).map { |controller, action| "forumsync/#{controller}##{action}" }

  it "names only actions the engine routes (as controller#action, Discourse's RouteMatcher)" do
    actions = Forumsync::API_KEY_SCOPES.values.flat_map { |scope| scope.fetch(:actions) }
    expect(actions).not_to be_empty
    expect(actions - drawn).to eq([])
  end

  it "lets a granular key post messages and read them back" do
    expect(Forumsync::API_KEY_SCOPES.dig(:post_messages, :actions)).to include("forumsync/posts#create")
    expect(Forumsync::API_KEY_SCOPES.dig(:read_messages, :actions)).to include("forumsync/posts#by_message_id")
  end

  it "is declared in plugin.rb with add_api_key_scope, and routes are not required twice" do
    plugin = File.read(File.join(PLUGIN_ROOT, "plugin.rb"))
    expect(plugin).to include("add_api_key_scope(:forumsync, Forumsync::API_KEY_SCOPES)")
    expect(plugin).not_to match(%r{require_relative "config/routes"})
  end
end
