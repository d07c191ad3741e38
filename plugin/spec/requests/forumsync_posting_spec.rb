# frozen_string_literal: true

require_relative "../support/forumsync_request_context"

# The posting path against Discourse itself (issue 13, plugin points 1-6). Runs inside a
# Discourse checkout (see plugin/README.md):
#   LOAD_PLUGINS=1 bin/rspec plugins/discourse-forumsync/spec/requests
RSpec.describe "discourse-forumsync posting path" do
  include_context "forumsync request"

  def new_topic(email:, message_id:, **extra)
    { email: email, name: extra.delete(:name), title: extra.delete(:title) || "Sujet #{message_id}",
      raw: "Bonjour,\n\nun message de la liste.", category_id: category.id,
      message_id: "<#{message_id}@liste.example.org>" }.compact.merge(extra)
  end

  def post_message(params, headers: admin_headers)
    post "/forumsync/posts.json", params: params, headers: headers
  end

  describe "the post and its IncomingEmail (point 1)" do
    it "records created_via from IncomingEmail.created_via_types[:handle_mail] and the list Message-ID" do
      post_message(new_topic(email: "marie@example.org", message_id: "ie-1", name: "Marie"))
      expect(response.status).to eq(201)
      created = Post.find(response.parsed_body["id"])
      incoming = IncomingEmail.find_by(post_id: created.id)
      expect(incoming).to have_attributes(
        created_via: IncomingEmail.created_via_types[:handle_mail],
        message_id: "ie-1@liste.example.org",
        from_address: "marie@example.org",
        user_id: created.user_id,
        topic_id: created.topic_id,
      )
    end

    it "sets outbound_message_id so Discourse's own mails thread with the list copy (Email::Receiver#create_post)" do
      post_message(new_topic(email: "marie@example.org", message_id: "ie-2"))
      expect(Post.find(response.parsed_body["id"]).outbound_message_id).to eq("ie-2@liste.example.org")
    end

    it "leaves nothing behind when Discourse refuses the post (unique topics.external_id): 422, no user" do
      post_message(new_topic(email: "a@example.org", message_id: "dup-1", external_id: "ml-same"))
      expect(response.status).to eq(201)
      counts = -> { [User.count, Post.count, Topic.count, IncomingEmail.count, PostCustomField.count] }
      expect {
        post_message(new_topic(email: "nouveau@example.org", message_id: "dup-2", external_id: "ml-same",
                               title: "Un autre sujet"))
      }.not_to change { counts.call }
      expect(response.status).to eq(422)
      expect(response.parsed_body["error_type"]).to eq("post_refused")
      expect(response.parsed_body["errors"].first).to start_with("Le forum a refusé le message")
      get "/forumsync/posts/by-message-id.json", params: { message_id: "<dup-2@liste.example.org>" },
                                                 headers: admin_headers
      expect(response.status).to eq(404)
    end
  end

  describe "only staged users post through the staged door (red-team findings, 6 December 2026)" do
    it "refuses an admin's secondary address: User.find_by_email finds it, forumsync's lookup did not" do
      admin = Fabricate(:admin)
      Fabricate(:secondary_email, user: admin, email: "second@example.org")
      expect { post_message(new_topic(email: "second@example.org", message_id: "sec-1")) }
        .not_to change { Post.where(user_id: admin.id).count }
      expect(response.status).to eq(422)
      expect(response.parsed_body["error_type"]).to eq("sender_refused")
      expect(response.parsed_body["errors"].first).to include("pas d'un utilisateur intermédiaire")
    end

    it "refuses a deactivated account and a silenced staged user (Email::Receiver#log_and_validate_user)" do
      inactive = Fabricate(:moderator, active: false)
      silenced = Fabricate(:user, staged: true, silenced_till: 1.year.from_now)
      post_message(new_topic(email: inactive.email, message_id: "off-1"))
      expect(response.status).to eq(422)
      post_message(new_topic(email: silenced.email, message_id: "off-2"))
      expect(response.status).to eq(422)
      expect(response.parsed_body["errors"].first).to include("réduit au silence")
      expect(Post.where(user_id: [inactive.id, silenced.id])).to be_empty
    end
  end

  describe "no second copy for list members (point 2)" do
    before { Jobs.run_immediately! }

    it "does not make the staged author watch the topic (auto_track: false)" do
      post_message(new_topic(email: "marie@example.org", message_id: "watch-1"))
      marie = User.find_by_email("marie@example.org")
      level = TopicUser.find_by(user_id: marie.id, topic_id: response.parsed_body["topic_id"])&.notification_level
      expect(level).not_to eq(TopicUser.notification_levels[:watching])
    end

    it "in a mailing-list mirror category, PostAlerter notifies no staged user of a forum reply" do
      category.update!(mailinglist_mirror: true)
      post_message(new_topic(email: "marie@example.org", message_id: "mirror-1"))
      marie = User.find_by_email("marie@example.org")
      PostCreator.create!(user, topic_id: response.parsed_body["topic_id"], reply_to_post_number: 1,
                                raw: "Réponse écrite sur le forum, pour @#{marie.username}.")
      expect(Notification.where(user_id: marie.id).count).to eq(0)
    end

    it "outside a mirror category the staged author would be notified of a reply (why themes are mirrors)" do
      post_message(new_topic(email: "marie@example.org", message_id: "mirror-2"))
      marie = User.find_by_email("marie@example.org")
      PostCreator.create!(user, topic_id: response.parsed_body["topic_id"], reply_to_post_number: 1,
                                raw: "Réponse écrite sur le forum, directement à son message.")
      expect(Notification.where(user_id: marie.id, notification_type: Notification.types[:replied]).count).to eq(1)
    end
  end

  describe "staged users as Discourse makes them (point 3)" do
    it "refuses while enable_staged_users is off, with a 422 and no user" do
      SiteSetting.enable_staged_users = false
      post_message(new_topic(email: "inconnu@example.org", message_id: "off-1"))
      expect(response.status).to eq(422)
      expect(response.parsed_body["error_type"]).to eq("sender_refused")
      expect(User.find_by_email("inconnu@example.org")).to be_nil
    end

    it "refuses an address outside allowed_email_domains" do
      SiteSetting.allowed_email_domains = "meyzieu.fr"
      post_message(new_topic(email: "agent@grandlyon.com", message_id: "allowed-1"))
      expect(response.status).to eq(422)
      expect(response.parsed_body["errors"].first).to include("« agent@grandlyon.com »")
    end

    it "retries a creation that loses the race to another request, and uses that request's user" do
      racing_store = Class.new(Forumsync::DiscourseUserStore) do
        def find_by_email(email)
          @looks = (@looks || 0) + 1
          @looks == 1 ? nil : super # the first look happens before the other request commits
        end
      end.new
      existing = Fabricate(:user, email: "race@example.org", staged: true, active: false)
      result = Forumsync::StagedUserResolver.new(racing_store).resolve(email: "race@example.org", name: "Race")
      expect(result.created).to be(false)
      expect(result.user).to eq(existing)
    end

    it "gives the username UserNameSuggester gives (computed before the user exists)" do
      name = "Jean-Pierre-Marie de La Tour-d'Auvergne"
      expected = UserNameSuggester.suggest(UserNameSuggester.sanitize_username(name))
      post_message(new_topic(email: "jp@example.org", message_id: "name-1", name: name))
      expect(response.parsed_body["username"]).to eq(expected)
      expect(expected).to eq("Jean-Pierre-Marie_de")
    end
  end

  describe "errors Discourse does not catch, dates (point 4)" do
    it "answers 422 with the reason, never 500, for a RecordNotSaved from PostCreator (fault injected)" do
      allow_any_instance_of(PostCreator).to receive(:create)
        .and_raise(ActiveRecord::RecordNotSaved.new("Ce sujet est en mode lent."))
      post_message(new_topic(email: "lent@example.org", message_id: "slow-1"))
      expect(response.status).to eq(422)
      expect(response.parsed_body).to eq("errors" => ["Le forum a refusé le message : Ce sujet est en mode lent."],
                                         "error_type" => "post_refused")
      expect(User.find_by_email("lent@example.org")).to be_nil
    end

    it "never answers 500 in a topic in slow mode" do
      post_message(new_topic(email: "lent@example.org", message_id: "slow-2"))
      topic_id = response.parsed_body["topic_id"]
      Topic.find(topic_id).update!(slow_mode_seconds: 3600)
      post_message(email: "lent@example.org", raw: "Deuxième message tout de suite.", topic_id: topic_id,
                   message_id: "<slow-3@liste.example.org>")
      expect(response.status).to be < 500
      if response.status == 422
        expect(response.parsed_body["errors"].first).to start_with("Le forum a refusé le message : ")
      end
    end

    it "caps a date in the future to now, as Email::Receiver does" do
      freeze_time
      post_message(new_topic(email: "futur@example.org", message_id: "future-1",
                             created_at: 3.days.from_now.utc.iso8601))
      expect(response.status).to eq(201)
      expect(Post.find(response.parsed_body["id"]).created_at).to eq_time(Time.zone.now)
    end
  end

  describe "a scoped API key (point 5)" do
    def scoped_headers(action)
      key = ApiKey.create!(user: admin, created_by: admin,
                           api_key_scopes: [ApiKeyScope.new(resource: "forumsync", action: action)])
      { "Api-Key" => key.key, "Api-Username" => admin.username }
    end

    it "lets a key with the forumsync post_messages scope post" do
      post_message(new_topic(email: "scope@example.org", message_id: "scope-1"),
                   headers: scoped_headers("post_messages"))
      expect(response.status).to eq(201)
    end

    it "refuses a key scoped to reading only" do
      post_message(new_topic(email: "scope@example.org", message_id: "scope-2"),
                   headers: scoped_headers("read_messages"))
      expect(response.status).to eq(403)
      expect(User.find_by_email("scope@example.org")).to be_nil
    end
  end
end
