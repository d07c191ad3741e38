# frozen_string_literal: true

module Forumsync
  # Finds the post of a (normalised) Message-ID: ours first (post custom field), then a post
  # Discourse itself created from an incoming email, if anyone may see it: a Message-ID is
  # written by the sender, and an IncomingEmail may be a private message's or a restricted
  # category's (a list mail answered "already exists" there would never reach its public
  # topic, and its replies would be routed to a place the list cannot read).
  #
  # Our post is found even once a moderator deleted it (red team, 46th pass). Post is
  # Trashable (app/models/concerns/trashable.rb: default_scope deleted_at IS NULL), and
  # trashing a post keeps its custom fields: Post.find_by answered nil for a deleted post, so
  # the same Message-ID was posted again (the moderator's deletion undone), and again on every
  # later attempt, the lookup picking the first, deleted, post each time. Discourse never
  # handles a Message-ID twice either (Email::Receiver#process!, #find_existing_and_update_imap:
  # a known IncomingEmail returns, whatever became of its post), and the local forum answers
  # the deleted post too. Its topic is loaded deleted or not, as PostsController
  # #find_post_using does for staff (post.topic ||= Topic.with_deleted.find_by(id: …)).
  module PostLookup
    # Discourse indexes post custom fields on (name, left(value, 200))
    # (index_post_custom_fields_on_name_and_value): PostgreSQL uses an expression index only
    # for that very expression, so `value = ?` alone walked every custom field row of the
    # forum (all plugins' fields) for each lookup, two or three per post — a quarter of a second
    # each at two million rows, for every new message (red team, 46th pass).
    INDEXED_PREFIX = 200
    INDEXED_VALUE = "left(value, #{INDEXED_PREFIX}) = left(?, #{INDEXED_PREFIX})"

    module_function

    def find(message_id)
      return nil if message_id.nil?

      ours = ::PostCustomField.where(name: MESSAGE_ID_FIELD, value: message_id)
        .where(INDEXED_VALUE, message_id).order(:id).pick(:post_id)
      return with_topic(::Post.with_deleted.find_by(id: ours)) if ours

      post_id = ::IncomingEmail.where(message_id: message_id).where.not(post_id: nil).order(:id).pick(:post_id)
      post = post_id && ::Post.find_by(id: post_id)
      post if post && ::Guardian.new.can_see?(post)
    end

    def with_topic(post)
      return nil if post.nil?

      post.topic ||= ::Topic.with_deleted.find_by(id: post.topic_id)
      post
    end
  end
end
