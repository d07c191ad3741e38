# frozen_string_literal: true

require_relative "../support/forumsync_request_context"
require_relative "../support/contract_types"

# Runs inside a Discourse checkout:
#   LOAD_PLUGINS=1 bin/rspec plugins/discourse-forumsync/spec/requests/forumsync_batch_spec.rb
RSpec.describe "POST /forumsync/posts/batch.json" do
  include_context "forumsync request"

  let(:contract) { JSON.parse(File.read(File.expand_path("../fixtures/contract/posts_batch.json", __dir__))) }

  # "$category_id", or a dotted path into an earlier response: "$batch.posts.0.topic_id".
  def resolve(value, bodies)
    case value
    when Hash then value.transform_values { |item| resolve(item, bodies) }
    when Array then value.map { |item| resolve(item, bodies) }
    when "$category_id" then category.id
    when /\A\$(.+)\z/
      Regexp.last_match(1).split(".").reduce(bodies) { |node, part| node.is_a?(Array) ? node[part.to_i] : node.fetch(part) }
    else value
    end
  end

  def check(body, expected, bodies, where)
    expected.fetch("required", {}).each do |key, type|
      expect(ContractTypes.match?(body[key], type)).to be_truthy, "#{where}: #{key}=#{body[key].inspect}"
    end
    expected.fetch("values", {}).each do |key, value|
      value = resolve(value, bodies)
      if expected.dig("required", key) == "datetime"
        expect(Time.iso8601(body[key])).to eq(Time.iso8601(value))
      else
        expect(body[key]).to eq(value), "#{where}: #{key}"
      end
    end
  end

  def batch(posts, headers: admin_headers, **extra)
    post "/forumsync/posts/batch.json", params: { posts: posts, **extra }, headers: headers, as: :json
    response.parsed_body
  end

  it "answers the batch contract, in order, each item on its own" do
    bodies = {}
    contract.fetch("cases").each do |item|
      params = resolve(item.dig("request", "params"), bodies)
      headers = item["auth"] == "user" ? user_headers : admin_headers
      post item.dig("request", "path"), params: params, headers: headers, as: :json
      expect(response.status).to eq(item.dig("response", "status")), "#{item["name"]}: #{response.body}"
      body = response.parsed_body
      bodies[item["name"]] = body
      check(body, item["response"], bodies, item["name"])
      Array(item["items"]).each_with_index do |expected, index|
        result = body.fetch("posts").fetch(index)
        expect(result["status"]).to eq(expected["status"]), "#{item["name"]}[#{index}]: #{result}"
        check(result, expected, bodies, "#{item["name"]}[#{index}]")
      end
    end
    topic = Topic.find(bodies["batch"]["posts"][0]["topic_id"])
    expect(topic.posts.order(:post_number).pluck(:post_number, :reply_to_post_number)).to eq(
      [[1, nil], [2, 1], [3, 2], [4, 3], [5, nil]])
    expect(User.find_by_email("pas-une-adresse")).to be_nil
    expect(IncomingEmail.where(message_id: "famille-4@ville.example.fr")).to be_empty
    school = Topic.find(bodies["topic_of"]["posts"][0]["topic_id"])
    expect(school.posts.order(:post_number).pluck(:post_number, :reply_to_post_number)).to eq(
      [[1, nil], [2, nil], [3, 2]])
    expect(IncomingEmail.where(message_id: %w[ecole-3@ville.example.fr ecole-4@ville.example.fr])).to be_empty
  end

  it "refuses more posts than forumsync_batch_max_posts, and announces the maximum" do
    SiteSetting.forumsync_batch_max_posts = 2
    get "/forumsync/capabilities.json", headers: admin_headers
    expect(response.parsed_body).to include("batch_max_posts" => 2)
    expect(response.parsed_body["features"]).to include("batch_posts")
    item = { email: "a@example.org", raw: "Bonjour à tous", title: "Un titre assez long", category_id: category.id }
    posts = 3.times.map { |i| item.merge(message_id: "<max-#{i}@example.org>") }
    body = batch(posts)
    expect(response.status).to eq(422)
    expect(body["errors"]).to eq(["Trop de messages dans le lot : 3 (au plus 2)."])
    expect(PostCustomField.where(name: Forumsync::MESSAGE_ID_FIELD)).to be_empty
  end

  it "refuses replies in closed or archived topics, and active accounts with staged_only" do
    topic = Fabricate(:topic, category: category, closed: true)
    Fabricate(:post, topic: topic)
    archived = Fabricate(:topic, category: category, archived: true)
    Fabricate(:post, topic: archived)
    member = Fabricate(:user, email: "membre@example.org")
    former = Fabricate(:admin, email: "ancien@example.org", active: false)
    open = Fabricate(:post, topic: Fabricate(:topic, category: category)).topic
    body = batch([
      { email: "a@example.org", raw: "Dans un sujet fermé", topic_id: topic.id, message_id: "<c-1@example.org>" },
      { email: "a@example.org", raw: "Dans un sujet archivé", topic_id: archived.id, message_id: "<c-2@example.org>" },
      { email: member.email, raw: "Je suis membre", topic_id: open.id, message_id: "<c-3@example.org>" },
      { email: former.email, raw: "Ancien admin", topic_id: open.id, message_id: "<c-4@example.org>" },
    ], staged_only: true)
    expect(body["posts"].map { |r| [r["status"], r["error_type"]] }).to eq(
      [[409, "topic_closed"], [409, "topic_closed"], [409, "active_user"], [409, "active_user"]])
    expect(Post.where(user_id: former.id)).to be_empty
    expect(topic.reload.posts.count).to eq(1)
    expect(User.find_by_email("a@example.org")).to be_nil
  end

  it "refuses a reply whose parent is no longer in the topic" do
    open = Fabricate(:post, topic: Fabricate(:topic, category: category)).topic
    elsewhere = Fabricate(:post)
    body = batch([{ email: "a@example.org", raw: "Réponse", topic_id: open.id, reply_to_post_number: 1,
                    reply_to_post_id: elsewhere.id, message_id: "<m-1@example.org>" }])
    expect(body["posts"][0]).to include("status" => 409, "error_type" => "parent_moved")
  end

  it "lets no later item reply to a post found again by its Message-ID, wherever it is" do
    first = { email: "a@example.org", raw: "Inscriptions en ligne", title: "Inscriptions à la cantine",
              category_id: category.id, message_id: "<pf-1@example.org>" }
    reply = ->(n) { { email: "b@example.org", raw: "Réponse #{n}", reply_to_message_id: "<pf-1@example.org>",
                      message_id: "<pf-r#{n}@example.org>" } }
    created = batch([first, reply.call(0)])["posts"]
    expect(created.map { |item| item["status"] }).to eq([201, 201]) # created here: a target
    body = batch([first, reply.call(1)])
    expect(body["posts"].map { |item| item["status"] }).to eq([200, 422])
    expect(body["posts"][1]["error_type"]).to eq("invalid_parameters")
    read_only = Fabricate(:category)
    read_only.set_permissions(everyone: :readonly)
    read_only.save!
    Topic.find(created[0]["topic_id"]).update!(category: read_only)
    expect(batch([first, reply.call(2)])["posts"].map { |item| item["status"] }).to eq([200, 422])
  end

  it "answers an item whose post a moderator deleted with that post, and posts it no second time" do
    first = { email: "a@example.org", raw: "Inscriptions en ligne", title: "Inscriptions à la cantine",
              category_id: category.id, message_id: "<del-1@example.org>" }
    created = batch([first])["posts"].first
    expect(created["status"]).to eq(201)
    PostDestroyer.new(admin, Post.find(created["id"])).destroy
    expect do
      body = batch([first, { email: "b@example.org", raw: "Réponse", reply_to_message_id: "<del-1@example.org>",
                             message_id: "<del-2@example.org>" }])
      expect(body["posts"].map { |item| item["status"] }).to eq([200, 422]) # no target either
      expect(body["posts"][0]).to include("id" => created["id"], "created" => false,
                                          "topic_id" => created["topic_id"])
    end.not_to change { Post.with_deleted.count }
  end

  it "takes each item's files in the same multipart request" do
    file = fixture_file_upload(file_from_fixtures("logo.png"), "image/png")
    posts = [{ email: "a@example.org", raw: "Le logo ![logo](forumsync-file:0)", title: "Un logo pour le club",
               category_id: category.id, message_id: "<f-1@example.org>" },
             { email: "b@example.org", raw: "Sans fichier", reply_to_message_id: "<f-1@example.org>",
               message_id: "<f-2@example.org>" }]
    post "/forumsync/posts/batch.json", params: { posts: posts.to_json, files: { "0" => [file] } },
                                        headers: admin_headers
    expect(response.status).to eq(200)
    results = response.parsed_body["posts"]
    expect(results.map { |r| r["status"] }).to eq([201, 201])
    expect(Post.find(results[0]["id"]).raw).to include("upload://")
  end

  it "answers the users of many addresses as the admin list answers each" do
    member = Fabricate(:user, email: "membre@example.org")
    post "/forumsync/users/by-email.json", params: { emails: ["Membre@Example.org", "inconnu@example.org"] },
                                           headers: admin_headers, as: :json
    expect(response.status).to eq(200)
    users = response.parsed_body["users"]
    expect(users["inconnu@example.org"]).to be_nil
    get "/admin/users/list/all.json", params: { email: "membre@example.org" }, headers: admin_headers
    expect(users["membre@example.org"]).to eq(response.parsed_body.first)
    expect(users["membre@example.org"]["id"]).to eq(member.id)
  end

  it "is refused to non-admins" do
    batch([{ email: "a@example.org", raw: "x", topic_id: 1, message_id: "<x@example.org>" }], headers: user_headers)
    expect(response.status).to eq(403)
  end
end
