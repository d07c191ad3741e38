# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/post_serializer"

RSpec.describe Forumsync::PostSerializer do
  FakePost = Struct.new(:id, :topic_id, :post_number, :reply_to_post_number, :created_at, keyword_init: true)
  FakeUser = Struct.new(:id, :username, :name, :staged, keyword_init: true)

  let(:user) { FakeUser.new(id: 5, username: "Marie.Curie", name: "Marie Curie", staged: true) }

  def created_body(post, created:, message_id:)
    JSON.parse(JSON.generate(described_class.created(post: post, user: user, topic_slug: "question-sur-la-sve",
                                                     message_id: message_id, created: created)))
  end

  it "builds the new topic answer of the contract" do
    response = contract_case("posts_create", "new_topic").fetch("response")
    post = FakePost.new(id: 10, topic_id: 3, post_number: 1, created_at: Time.utc(2024, 3, 1, 10))
    body = created_body(post, created: true, message_id: "sve-1@listes.example.org")
    expect(described_class.status(true)).to eq(response.fetch("status"))
    expect_contract_shape(body, response)
    expect_contract_values(body, response)
    expect(body["created_at"]).to eq("2024-03-01T10:00:00.000Z")
  end

  it "builds the repeat answer of the contract (200, created false)" do
    response = contract_case("posts_create", "repeat").fetch("response")
    post = FakePost.new(id: 10, topic_id: 3, post_number: 1, created_at: Time.utc(2024, 3, 1, 10))
    body = created_body(post, created: false, message_id: "sve-1@listes.example.org")
    expect(described_class.status(false)).to eq(response.fetch("status"))
    expect_contract_shape(body, response)
    expect_contract_values(body, response)
  end

  it "answers a post found again whose author was deleted since (user_id NULL), instead of failing" do
    post = FakePost.new(id: 10, topic_id: 3, post_number: 1, created_at: Time.utc(2024, 3, 1, 10))
    body = JSON.parse(JSON.generate(described_class.created(post: post, user: nil, topic_slug: "",
                                                            message_id: "sve-1@listes.example.org",
                                                            created: false)))
    expect(body).to include("id" => 10, "user_id" => nil, "username" => nil, "staged" => false,
                            "created" => false)
  end

  it "builds the reply answer of the contract" do
    response = contract_case("posts_create", "reply").fetch("response")
    post = FakePost.new(id: 11, topic_id: 3, post_number: 2, reply_to_post_number: 1,
                        created_at: Time.iso8601("2024-03-01T11:30:00+01:00"))
    body = created_body(post, created: true, message_id: "sve-2@mairie.example.fr")
    expect_contract_shape(body, response)
    expect_contract_values(body, response)
  end

  it "adds the Message-ID to Discourse's post JSON for the lookup" do
    response = contract_case("posts_by_message_id", "found").fetch("response")
    discourse_json = {
      id: 10, topic_id: 3, topic_slug: "publier", post_number: 1, post_type: 1,
      created_at: Time.utc(2024, 5, 2, 8, 15), updated_at: Time.utc(2024, 5, 2, 8, 15), deleted_at: nil,
      username: "data", user_id: 5, raw: "Qui l'a déjà fait ?", cooked: "<p>Qui l'a déjà fait ?</p>",
      reply_to_post_number: nil, version: 1
    }
    body = JSON.parse(JSON.generate(described_class.lookup(discourse_json, "lookup-1@montpellier3m.fr")))
    expect_contract_shape(body, response)
    expect_contract_values(body, response)
  end

  %w[missing_params invalid_params].each do |name|
    it "builds Discourse's error body for #{name}" do
      response = contract_case("posts_create", name).fetch("response")
      body = JSON.parse(JSON.generate(described_class.errors(response.dig("values", "errors"))))
      expect_contract_shape(body, response)
      expect_contract_values(body, response)
    end
  end
end
