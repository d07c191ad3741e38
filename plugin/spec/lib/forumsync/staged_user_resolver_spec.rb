# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/staged_user_resolver"

RSpec.describe Forumsync::StagedUserResolver do
  StoredUser = Struct.new(:id, :email, :username, :name, :staged, :silenced, keyword_init: true)

  # In-memory store with Forumsync::DiscourseUserStore's interface. Discourse's own rules
  # (UserNameSuggester, User.suggest_name) are not re-implemented here: the store records
  # what the resolver asks for, and answers recognisable values.
  class RecordingUserStore
    attr_reader :users, :suggested, :sanitized
    attr_accessor :staging, :allowed, :conflicts, :invalid, :hidden_emails

    def initialize
      @users = []
      @suggested = []
      @sanitized = []
      @staging = true
      @allowed = true
      @conflicts = 0
      @invalid = nil
      @hidden_emails = []
    end

    def find_by_email(email)
      return nil if @hidden_emails.delete(email)

      @users.find { |user| user.email.casecmp?(email) }
    end

    def silenced?(user)
      !!user.silenced
    end

    def staging_enabled?
      @staging
    end

    def email_allowed?(_email)
      @allowed
    end

    def sanitize_username(name)
      @sanitized << name
      name.gsub(/[^A-Za-z0-9]+/, "_").gsub(/\A_+|_+\z/, "")
    end

    def suggest_username(name_or_email)
      @suggested << name_or_email
      "suggested#{@suggested.length}"
    end

    def suggest_name(email)
      "name of #{email}"
    end

    def create_staged(email:, username:, name:)
      if @conflicts.positive?
        @conflicts -= 1
        raise Forumsync::StagedUserResolver::Conflict
      end
      raise Forumsync::StagedUserResolver::Invalid, @invalid if @invalid

      user = StoredUser.new(id: @users.length + 1, email: email, username: username, name: name, staged: true)
      @users << user
      user
    end
  end

  let(:store) { RecordingUserStore.new }
  let(:resolver) { described_class.new(store) }

  it "stages an unknown address once, named and suggested from its display name" do
    first = resolver.resolve(email: "Marie.Curie@Example.ORG", name: " Marie Curie ")
    expect(first.created).to be(true)
    expect(first.user).to have_attributes(email: "marie.curie@example.org", username: "suggested1",
                                          name: "Marie Curie", staged: true)
    expect(store.sanitized).to eq(["Marie Curie"])
    expect(store.suggested).to eq(["Marie_Curie"])
    again = resolver.resolve(email: "MARIE.CURIE@example.org", name: "Autre nom")
    expect(again.created).to be(false)
    expect(again.user).to equal(first.user)
    expect(store.users.length).to eq(1)
  end

  it "suggests from the address when there is no display name, or one that sanitizes to nothing" do
    resolver.resolve(email: "contact@mairie.fr", name: nil)
    resolver.resolve(email: "a.b@example.org", name: "***")
    resolver.resolve(email: "c@example.org", name: "   ")
    expect(store.suggested).to eq(["contact@mairie.fr", "a.b@example.org", "c@example.org"])
  end

  it "makes the username from username_hint when given, and keeps the display name as the name" do
    user = resolver.resolve(email: "sosie@evil.example", name: "Marie Curie (adresse non vérifiée)",
                            username_hint: "sosie").user
    expect(user.name).to eq("Marie Curie (adresse non vérifiée)")
    resolver.resolve(email: "b@evil.example", name: "Marie Curie (adresse non vérifiée)", username_hint: "***")
    resolver.resolve(email: "c@evil.example", name: "Marie Curie (adresse non vérifiée)", username_hint: " ")
    expect(store.sanitized).to eq(["sosie", "***", "Marie Curie (adresse non vérifiée)"])
    expect(store.suggested).to eq(["sosie", "b@evil.example", "Marie_Curie_adresse_non_v_rifi_e"])
  end

  it "names a nameless sender as User.suggest_name does, keeps a given name as it is" do
    expect(resolver.resolve(email: "anonyme@x.fr", name: " ").user.name).to eq("name of anonyme@x.fr")
    expect(resolver.resolve(email: "etoiles@x.fr", name: "***").user.name).to eq("***")
  end

  it "uses an existing staged user without asking anything else" do
    known = StoredUser.new(id: 1, email: "data@montpellier3m.fr", username: "data34", staged: true)
    store.users << known
    store.staging = false
    store.allowed = false
    expect(resolver.resolve(email: "data@montpellier3m.fr").user).to equal(known)
    expect(store.suggested).to eq([])
  end

  it "refuses the address of an account that is not staged (find_by_email matches secondary addresses too)" do
    store.users << StoredUser.new(id: 2, email: "chef@club.fr", username: "chef", staged: false)
    expect { resolver.resolve(email: "Chef@Club.fr") }.to raise_error(Forumsync::Refusal) { |refusal|
      expect(refusal.status).to eq(422)
      expect(refusal.error_type).to eq("sender_refused")
      expect(refusal.messages.first).to include("« chef@club.fr »", "pas d'un utilisateur intermédiaire")
    }
    expect(store.suggested).to eq([])
  end

  it "refuses a silenced staged user, as Email::Receiver (SilencedUserError)" do
    store.users << StoredUser.new(id: 3, email: "bruit@x.fr", username: "bruit", staged: true, silenced: true)
    expect { resolver.resolve(email: "bruit@x.fr") }.to raise_error(Forumsync::Refusal) { |refusal|
      expect(refusal.error_type).to eq("sender_refused")
      expect(refusal.messages.first).to include("réduit au silence")
    }
  end

  it "refuses (422 sender_refused, in French) while staged users are disabled, creating nothing" do
    store.staging = false
    expect { resolver.resolve(email: "x@y.fr") }.to raise_error(Forumsync::Refusal) { |refusal|
      expect(refusal.status).to eq(422)
      expect(refusal.error_type).to eq("sender_refused")
      expect(refusal.messages.first).to include("enable_staged_users", "« x@y.fr »")
    }
    expect(store.users).to be_empty
  end

  it "refuses an address EmailValidator.allowed? refuses (blocked or not allowed domain)" do
    store.allowed = false
    expect { resolver.resolve(email: "agent@mailinator.com", name: "Agent") }
      .to raise_error(Forumsync::Refusal, /« agent@mailinator.com » n'est pas acceptée par le forum/)
    expect(store.suggested).to eq([])
  end

  it "answers in the request's locale" do
    store.allowed = false
    english = described_class.new(store, locale: :en)
    expect { english.resolve(email: "agent@mailinator.com") }.to raise_error(Forumsync::Refusal, /is not accepted/)
  end

  it "retries a unique violation and then finds the user the concurrent request created" do
    store.users << StoredUser.new(id: 9, email: "new@x.fr", username: "new", staged: true)
    store.hidden_emails << "new@x.fr" # the first look happens before the other request commits
    store.conflicts = 1
    result = resolver.resolve(email: "new@x.fr", name: "New")
    expect(result.created).to be(false)
    expect(result.user.id).to eq(9)
  end

  it "retries a username taken meanwhile with a new suggestion" do
    store.conflicts = 1
    result = resolver.resolve(email: "jean@x.fr", name: "Jean")
    expect(result.created).to be(true)
    expect(store.suggested).to eq(%w[Jean Jean])
    expect(result.user.username).to eq("suggested2")
  end

  it "gives up after #{described_class::ATTEMPTS} conflicts with a 422, never loops or raises a 500" do
    store.conflicts = described_class::ATTEMPTS
    expect { resolver.resolve(email: "busy@x.fr") }
      .to raise_error(Forumsync::Refusal, /n'a pas pu être créé/)
  end

  it "turns a user record Discourse refuses into a 422 with Discourse's reason" do
    store.invalid = "Primary email is invalid."
    expect { resolver.resolve(email: "x@y.fr") }.to raise_error(Forumsync::Refusal) { |refusal|
      expect(refusal.error_type).to eq("sender_refused")
      expect(refusal.messages).to eq(["Le forum refuse de créer l'utilisateur de « x@y.fr » : Primary email is invalid."])
    }
  end
end
