# frozen_string_literal: true

module Forumsync
  # StagedUserResolver's store backed by Discourse's User model (loaded in after_initialize).
  class DiscourseUserStore
    def find_by_email(email)
      ::User.find_by_email(email)
    end

    def username_taken?(username)
      !::User.username_available?(username)
    end

    def create_staged(email:, username:, name:)
      ::User.create!(email: email, username: username, name: name, staged: true, active: false)
    end
  end
end
