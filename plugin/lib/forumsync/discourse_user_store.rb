# frozen_string_literal: true

module Forumsync
  # StagedUserResolver's store on Discourse's own rules (loaded in after_initialize): the
  # same calls Email::Receiver#find_or_create_user makes.
  class DiscourseUserStore
    def find_by_email(email)
      ::User.find_by_email(email)
    end

    def silenced?(user)
      user.silenced?
    end

    def staging_enabled?
      ::SiteSetting.enable_staged_users
    end

    def email_allowed?(email)
      ::EmailValidator.allowed?(email)
    end

    def sanitize_username(name)
      ::UserNameSuggester.sanitize_username(name)
    end

    def suggest_username(name_or_email)
      ::UserNameSuggester.suggest(name_or_email)
    end

    def suggest_name(email)
      ::User.suggest_name(email)
    end

    # In a savepoint, so that a unique violation (another request created this sender or
    # took this username meanwhile) leaves the caller's transaction usable for the retry.
    def create_staged(email:, username:, name:)
      ::User.transaction(requires_new: true) do
        ::User.create!(email: email, username: username, name: name, staged: true)
      end
    rescue ::ActiveRecord::RecordNotUnique
      raise StagedUserResolver::Conflict
    rescue ::ActiveRecord::RecordInvalid => e
      raise StagedUserResolver::Conflict if find_by_email(email) || !::User.username_available?(username)

      raise StagedUserResolver::Invalid, e.record.errors.full_messages.join(" ")
    end
  end
end
