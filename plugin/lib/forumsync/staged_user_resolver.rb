# frozen_string_literal: true

require_relative "messages"
require_relative "refusal"

module Forumsync
  # Finds the staged user of an email address, or creates one exactly as Discourse's
  # Email::Receiver#find_or_create_user does for an unknown sender (the address of an account
  # that is not staged, or of a silenced user, is refused: check_existing!):
  #
  # - staging only while SiteSetting.enable_staged_users is on, and only for an address
  #   EmailValidator.allowed? accepts (allowed/blocked email domains);
  # - username: UserNameSuggester.suggest of the sanitized display name, or of the address
  #   when the name leaves nothing (the suggester drops what a username may not contain,
  #   cuts it to the allowed length and picks a free one);
  # - name: the display name, else User.suggest_name(address);
  # - username_hint (optional, capability username_hint): when given, the username is made
  #   from it instead of the display name, which stays the user's name (forumsync sends it
  #   for a sender whose name it marked "adresse non vérifiée": the mark, or a member's name
  #   the sender borrowed, must not become the username);
  # - two first messages of one new sender at once: the second creation hits a unique
  #   index; it is retried (the store creates inside a savepoint), and then finds the user
  #   the first one made.
  #
  # The store does the persistence and owns Discourse's rules (Forumsync::DiscourseUserStore):
  #
  #   find_by_email(email)            -> user or nil (any of its addresses)
  #   silenced?(user)                 -> user.silenced?
  #   staging_enabled?                -> SiteSetting.enable_staged_users
  #   email_allowed?(email)           -> EmailValidator.allowed?
  #   sanitize_username(name)         -> UserNameSuggester.sanitize_username
  #   suggest_username(name_or_email) -> UserNameSuggester.suggest
  #   suggest_name(email)             -> User.suggest_name
  #   create_staged(email:, username:, name:) -> user; raises Conflict (unique violation) or
  #                                             Invalid (the user record is refused)
  class StagedUserResolver
    Result = Struct.new(:user, :created, keyword_init: true)
    ATTEMPTS = 3

    class Conflict < StandardError; end
    class Invalid < StandardError; end

    def initialize(store, locale: Messages::DEFAULT_LOCALE)
      @store = store
      @locale = locale
    end

    def resolve(email:, name: nil, username_hint: nil)
      email = email.to_s.strip.downcase
      ATTEMPTS.times do
        existing = @store.find_by_email(email)
        return Result.new(user: check_existing!(existing, email), created: false) if existing

        check_stageable!(email)
        begin
          user = @store.create_staged(email: email, username: username_for(email, name, username_hint),
                                      name: display_name(email, name))
          return Result.new(user: user, created: true)
        rescue Conflict
          next
        rescue Invalid => e
          refuse!(:sender_invalid, email: email, reason: e.message)
        end
      end
      refuse!(:sender_conflict, email: email)
    end

    # Receiver: UserNameSuggester.suggest(sanitize_username(display_name).presence || email),
    # the hint standing for the display name when given.
    def username_for(email, name, hint = nil)
      cleaned = hint.to_s.strip.empty? ? name.to_s.strip : hint.to_s.strip
      sanitized = cleaned.empty? ? "" : @store.sanitize_username(cleaned).to_s
      @store.suggest_username(sanitized.empty? ? email : sanitized)
    end

    def display_name(email, name)
      cleaned = name.to_s.strip
      cleaned.empty? ? @store.suggest_name(email) : cleaned
    end

    private

    # Only a staged user posts through this door. forumsync sends here the senders it found no
    # account for (it looks accounts up by primary address, and keeps staff and inactive
    # accounts out); User.find_by_email also matches secondary addresses, so a forged From with
    # an admin's secondary address would otherwise post as the admin. And as Email::Receiver
    # #log_and_validate_user: a silenced user posts nothing (SilencedUserError).
    def check_existing!(user, email)
      refuse!(:account_not_staged, email: email) unless user.staged
      refuse!(:sender_silenced, email: email) if @store.silenced?(user)
      user
    end

    def check_stageable!(email)
      refuse!(:staging_disabled, email: email) unless @store.staging_enabled?
      refuse!(:email_not_allowed, email: email) unless @store.email_allowed?(email)
    end

    def refuse!(key, **vars)
      raise Refusal.t(key, error_type: Refusal::SENDER, locale: @locale, **vars)
    end
  end
end
