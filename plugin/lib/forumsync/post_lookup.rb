# frozen_string_literal: true

module Forumsync
  # Finds the post of a (normalised) Message-ID: ours first (post custom field), then any
  # post Discourse itself created from an incoming email.
  module PostLookup
    module_function

    def find(message_id)
      return nil if message_id.nil?

      post_id =
        ::PostCustomField.where(name: MESSAGE_ID_FIELD, value: message_id).order(:id).pick(:post_id) ||
          ::IncomingEmail.where(message_id: message_id).where.not(post_id: nil).order(:id).pick(:post_id)
      post_id && ::Post.find_by(id: post_id)
    end
  end
end
