# frozen_string_literal: true

require_relative "../support/forumsync_request_context"
require_relative "../support/contract_types"

# Runs inside a Discourse checkout:
#   LOAD_PLUGINS=1 bin/rspec plugins/discourse-forumsync/spec/requests
RSpec.describe "discourse-forumsync endpoints" do
  include_context "forumsync request"

  let(:contract_dir) { File.expand_path("../fixtures/contract", __dir__) }

  def contract(name)
    JSON.parse(File.read(File.join(contract_dir, "#{name}.json")))
  end

  def resolve(value, bodies)
    return category.id if value == "$category_id"
    return value unless value.is_a?(String) && value.start_with?("$")

    case_name, key = value.delete_prefix("$").split(".", 2)
    bodies.fetch(case_name).fetch(key)
  end

  # Runs every case of a contract file in order, as the Python tests do on the local forum.
  def run_contract(name)
    bodies = {}
    contract(name).dig("setup", "site_settings")&.each { |setting, value| SiteSetting.set(setting, value) }
    contract(name).fetch("cases").each do |item|
      request = item.fetch("request")
      params = request.fetch("params").transform_values { |value| resolve(value, bodies) }
      headers = item["auth"] == "user" ? user_headers : admin_headers
      if request["method"] == "GET"
        get request["path"], params: params, headers: headers
      else
        post request["path"], params: params, headers: headers
      end
      expected = item.fetch("response")
      expect(response.status).to eq(expected.fetch("status")), "#{item["name"]}: #{response.body}"
      body = response.parsed_body
      expected.fetch("required").each do |key, type|
        expect(ContractTypes.match?(body[key], type)).to be_truthy, "#{item["name"]}: #{key}=#{body[key].inspect}"
      end
      expected.fetch("values", {}).each do |key, value|
        value = resolve(value, bodies)
        if expected["required"][key] == "datetime"
          expect(Time.iso8601(body[key])).to eq(Time.iso8601(value))
        else
          expect(body[key]).to eq(value), "#{item["name"]}: #{key}"
        end
      end
      bodies[item["name"]] = body
    end
    bodies
  end

  it "answers the capabilities contract" do
    run_contract("capabilities")
  end

  it "answers the posts contract, creating staged users once and posts once per Message-ID" do
    bodies = nil
    expect { bodies = run_contract("posts_create") }.to change { User.where(staged: true).count }.by(2)
    marie = User.find(bodies["new_topic"]["user_id"])
    expect(marie).to have_attributes(staged: true, active: false, email: "marie.curie@example.org")
    topic = Topic.find(bodies["new_topic"]["topic_id"])
    expect(topic.posts.count).to eq(3)
    expect(topic.external_id).to eq("ml-0123456789abcdef0123456789abcdef01234567")
    first = topic.first_post
    expect(first.created_at).to eq_time(Time.utc(2024, 3, 1, 10))
    expect(first.custom_fields[Forumsync::MESSAGE_ID_FIELD]).to eq("sve-1@listes.example.org")
    expect(IncomingEmail.find_by(post_id: first.id).message_id).to eq("sve-1@listes.example.org")
  end

  it "stages senders as Email::Receiver does: usernames, refusals (staged_senders contract)" do
    bodies = run_contract("staged_senders")
    marie = User.find(bodies["display_name"]["user_id"])
    expect(marie).to have_attributes(staged: true, username: "Marie_Curie", name: "Marie Curie")
    expect(User.find_by_email("agent@mailinator.com")).to be_nil
    expect(User.find_by_email("jean..x@example.org")).to be_nil
  end

  it "answers the lookup contract" do
    run_contract("posts_by_message_id")
  end

  it "finds posts Discourse created from incoming email too" do
    post = Fabricate(:post)
    IncomingEmail.create!(post_id: post.id, topic_id: post.topic_id, message_id: "native@example.org")
    get "/forumsync/posts/by-message-id.json", params: { message_id: "<native@example.org>" },
                                               headers: admin_headers
    expect(response.status).to eq(200)
    expect(response.parsed_body["id"]).to eq(post.id)
  end

  it "ignores an incoming email of a private message or a restricted category (the Message-ID is a claim)" do
    pm = Fabricate(:private_message_post)
    IncomingEmail.create!(post_id: pm.id, topic_id: pm.topic_id, message_id: "pm@example.org")
    hidden = Fabricate(:private_category, group: Fabricate(:group))
    secret = Fabricate(:post, topic: Fabricate(:topic, category: hidden))
    IncomingEmail.create!(post_id: secret.id, topic_id: secret.topic_id, message_id: "secret@example.org")
    %w[pm secret].each do |id|
      get "/forumsync/posts/by-message-id.json", params: { message_id: "<#{id}@example.org>" },
                                                 headers: admin_headers
      expect(response.status).to eq(404)
    end
  end

  # Red team, 46th pass: Post is Trashable (its default scope hides deleted posts) and trashing
  # keeps the Message-ID custom field; the lookup answered nil, so the Message-ID was posted
  # again, and again on each later attempt.
  it "answers the post of a Message-ID a moderator deleted, topic and all, and posts nothing again" do
    params = { email: "marie@example.org", raw: "Bonjour à tous", title: "Une question de Marie",
               category: category.id, message_id: "<deleted-1@example.org>" }
    post "/forumsync/posts.json", params: params, headers: admin_headers
    expect(response.status).to eq(201)
    first = Post.find(response.parsed_body["id"])
    reply_params = { email: "jean@example.org", raw: "Une réponse de Jean", topic_id: first.topic_id,
                     message_id: "<deleted-2@example.org>" }
    post "/forumsync/posts.json", params: reply_params, headers: admin_headers
    reply = Post.find(response.parsed_body["id"])
    PostDestroyer.new(admin, reply).destroy
    PostDestroyer.new(admin, first).destroy # the topic goes with its first post
    expect(first.topic.reload.deleted_at).to be_present

    expect do
      2.times do
        post "/forumsync/posts.json", params: params, headers: admin_headers
        expect(response.status).to eq(200)
        expect(response.parsed_body).to include("id" => first.id, "created" => false)
        post "/forumsync/posts.json", params: reply_params, headers: admin_headers
        expect(response.status).to eq(200)
        expect(response.parsed_body).to include("id" => reply.id, "created" => false)
      end
    end.not_to change { Post.with_deleted.count }

    get "/forumsync/posts/by-message-id.json", params: { message_id: "<deleted-1@example.org>" },
                                               headers: admin_headers
    expect(response.status).to eq(200)
    expect(response.parsed_body["id"]).to eq(first.id)
    expect(response.parsed_body["deleted_at"]).to be_present
  end

  it "writes a staged post only where everyone may (no guardian for staged senders)" do
    read_only = Fabricate(:category)
    read_only.set_permissions(everyone: :readonly)
    read_only.save!
    staff_only = Fabricate(:private_category, group: Group[:staff])
    topic = Fabricate(:post, topic: Fabricate(:topic, category: read_only)).topic
    attempts = [
      { email: "a@example.org", raw: "Une réponse", topic_id: topic.id, message_id: "<ro-1@example.org>" },
      { email: "a@example.org", raw: "Un sujet", title: "Un sujet chez l'équipe", category: staff_only.id,
        message_id: "<ro-2@example.org>" },
    ]
    attempts.each do |params|
      post "/forumsync/posts.json", params: params, headers: admin_headers
      expect(response.status).to eq(422)
      expect(response.parsed_body["error_type"]).to eq("category_closed")
    end
    expect(Post.where(topic_id: topic.id).count).to eq(1)
  end

  it "writes no staged reply in a closed or archived topic (only staff post there)" do
    %i[closed archived].each_with_index do |status, index|
      topic = Fabricate(:post, topic: Fabricate(:topic, category: category, status => true)).topic
      post "/forumsync/posts.json", params: { email: "a@example.org", raw: "Une réponse", topic_id: topic.id,
                                              message_id: "<cl-#{index}@example.org>" }, headers: admin_headers
      expect(response.status).to eq(422)
      expect(response.parsed_body["error_type"]).to eq("topic_closed")
    end
  end

  it "shows the capabilities to admins only, also on a login_required forum" do
    SiteSetting.login_required = true
    get "/forumsync/capabilities.json"
    expect(response.status).not_to eq(200)
    expect(response.body).not_to include("batch_max_posts")
    get "/forumsync/capabilities.json", headers: user_headers
    expect(response.status).to eq(403)
    get "/forumsync/capabilities.json", headers: admin_headers
    expect(response.status).to eq(200)
  end

  it "is absent while the plugin is disabled" do
    SiteSetting.forumsync_enabled = false
    get "/forumsync/capabilities.json"
    expect(response.status).to eq(404)
  end

  it "serializes the category fields and accepts them through the categories API" do
    put "/categories/#{category.id}.json",
        params: { custom_fields: { forumsync_theme: "sve", forumsync_lead: "Meyzieu" } },
        headers: admin_headers
    expect(response.status).to eq(200)
    get "/c/#{category.id}/show.json", headers: admin_headers
    expect(response.parsed_body["category"]).to include("forumsync_theme" => "sve", "forumsync_lead" => "Meyzieu")
  end
end
