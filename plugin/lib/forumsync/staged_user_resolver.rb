# frozen_string_literal: true

module Forumsync
  # Finds the forum user of an email address, or creates a staged one (as Discourse's
  # Email::Receiver does for unknown senders). The store does the persistence:
  #
  #   store.find_by_email(email)                 -> user or nil (case-insensitive)
  #   store.username_taken?(username)            -> true/false
  #   store.create_staged(email:, username:, name:) -> user (staged, inactive)
  #
  # Discourse's store is Forumsync::DiscourseUserStore; specs use an in-memory one.
  class StagedUserResolver
    Result = Struct.new(:user, :created, keyword_init: true)
    MAX_USERNAME = 20
    MIN_USERNAME = 3

    def initialize(store)
      @store = store
    end

    def resolve(email:, name: nil)
      email = email.to_s.strip.downcase
      existing = @store.find_by_email(email)
      return Result.new(user: existing, created: false) if existing

      username = suggest_username(email, name)
      user = @store.create_staged(email: email, username: username, name: display_name(email, name))
      Result.new(user: user, created: true)
    end

    # "Marie.Curie@example.org" → "Marie.Curie", then "Marie.Curie1"… until free.
    def suggest_username(email, name = nil)
      base = email.split("@").first.to_s
      base = base.unicode_normalize(:nfkd).encode("ASCII", invalid: :replace, undef: :replace, replace: "")
      base = base.gsub(/[^A-Za-z0-9_.-]+/, "_").gsub(/\A[^A-Za-z0-9_]+|[^A-Za-z0-9]+\z/, "")
      base = base[0, MAX_USERNAME]
      base = "user" if base.length < MIN_USERNAME
      candidate = base
      suffix = 1
      while @store.username_taken?(candidate)
        tail = suffix.to_s
        candidate = base[0, MAX_USERNAME - tail.length] + tail
        suffix += 1
      end
      candidate
    end

    def display_name(email, name)
      cleaned = name.to_s.strip
      cleaned.empty? ? email.split("@").first : cleaned
    end
  end
end
