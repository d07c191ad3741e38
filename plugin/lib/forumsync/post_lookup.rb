# frozen_string_literal: true

module Forumsync
  # Finds the post of a (normalised) Message-ID: ours first (post custom field), then a post
  # Discourse itself created from an incoming email, if anyone may see it: a Message-ID is
  # written by the sender, and an IncomingEmail may be a private message's or a restricted
  # category's (a list mail answered "already exists" there would never reach its public
  # topic, and its replies would be routed to a place the list cannot read).
  module PostLookup
    module_function

    def find(message_id)
      return nil if message_id.nil?

      ours = ::PostCustomField.where(name: MESSAGE_ID_FIELD, value: message_id).order(:id).pick(:post_id)
      return ::Post.find_by(id: ours) if ours

      post_id = ::IncomingEmail.where(message_id: message_id).where.not(post_id: nil).order(:id).pick(:post_id)
      post = post_id && ::Post.find_by(id: post_id)
      post if post && ::Guardian.new.can_see?(post)
    end
  end
end
