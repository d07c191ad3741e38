# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/staged_user_resolver"

RSpec.describe Forumsync::StagedUserResolver do
  StoredUser = Struct.new(:id, :email, :username, :name, :staged, :active, keyword_init: true)

  # In-memory store with the interface Forumsync::DiscourseUserStore implements.
  class MemoryUserStore
    attr_reader :users

    def initialize(users = [])
      @users = users
    end

    def find_by_email(email)
      @users.find { |user| user.email.casecmp?(email) }
    end

    def username_taken?(username)
      @users.any? { |user| user.username.casecmp?(username) }
    end

    def create_staged(email:, username:, name:)
      user = StoredUser.new(id: @users.length + 1, email: email, username: username, name: name,
                            staged: true, active: false)
      @users << user
      user
    end
  end

  let(:store) { MemoryUserStore.new }
  let(:resolver) { described_class.new(store) }

  it "creates a staged, inactive user for an unknown address, once" do
    first = resolver.resolve(email: "Marie.Curie@Example.ORG", name: "Marie Curie")
    expect(first.created).to be(true)
    expect(first.user).to have_attributes(email: "marie.curie@example.org", username: "marie.curie",
                                          name: "Marie Curie", staged: true, active: false)
    again = resolver.resolve(email: "MARIE.CURIE@example.org", name: "Autre nom")
    expect(again.created).to be(false)
    expect(again.user).to equal(first.user)
    expect(store.users.length).to eq(1)
  end

  it "uses an existing real account rather than staging one" do
    real = StoredUser.new(id: 1, email: "data@montpellier3m.fr", username: "data34", staged: false, active: true)
    store.users << real
    expect(resolver.resolve(email: "data@montpellier3m.fr").user).to equal(real)
  end

  it "picks a free username" do
    store.users << StoredUser.new(id: 1, email: "x@a.fr", username: "contact")
    store.users << StoredUser.new(id: 2, email: "y@a.fr", username: "contact1")
    expect(resolver.resolve(email: "contact@mairie.fr").user.username).to eq("contact2")
  end

  it "folds accents, odd characters and short or long local parts" do
    expect(resolver.suggest_username("élodie+liste@x.fr")).to eq("elodie_liste")
    expect(resolver.suggest_username("a@x.fr")).to eq("user")
    expect(resolver.suggest_username("#{"n" * 30}@x.fr").length).to eq(20)
  end

  it "names a nameless sender after the address" do
    expect(resolver.resolve(email: "anonyme@x.fr", name: " ").user.name).to eq("anonyme")
  end
end
