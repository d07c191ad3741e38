# frozen_string_literal: true

require "time"

module Forumsync
  # Builds the JSON bodies of the posts endpoints (shapes in spec/fixtures/contract/).
  module PostSerializer
    CREATED = 201
    EXISTING = 200

    module_function

    # Body of POST /forumsync/posts.json. `post` answers id, topic_id, post_number,
    # reply_to_post_number and created_at; `user` answers id, username, name and staged, or is
    # nil: a post found again by its Message-ID whose author was deleted since
    # (UserDestroyer#destroy sets the user_id of their posts, trashed with them, to NULL).
    def created(post:, user:, topic_slug:, message_id:, created:)
      {
        "id" => post.id,
        "topic_id" => post.topic_id,
        "topic_slug" => topic_slug.to_s,
        "post_number" => post.post_number,
        "reply_to_post_number" => post.reply_to_post_number,
        "created_at" => timestamp(post.created_at),
        "user_id" => user&.id,
        "username" => user&.username,
        "name" => user&.name,
        "staged" => user&.staged ? true : false,
        "message_id" => message_id,
        "created" => created ? true : false,
      }
    end

    # 201 when the post was created by this request, 200 when it already existed.
    def status(created)
      created ? CREATED : EXISTING
    end

    # Body of GET /forumsync/posts/by-message-id.json: the post as GET /posts/{id}.json
    # serializes it (Discourse's own PostSerializer), plus the stored Message-ID.
    def lookup(post_json, message_id)
      body = post_json.each_with_object({}) { |(key, value), out| out[key.to_s] = value }
      %w[created_at updated_at deleted_at].each do |key|
        body[key] = timestamp(body[key]) if body[key].respond_to?(:utc)
      end
      body["forumsync_message_id"] = message_id
      body
    end

    # Discourse's error body.
    def errors(messages, error_type = "invalid_parameters")
      { "errors" => Array(messages), "error_type" => error_type }
    end

    # Discourse's JSON timestamps: UTC with milliseconds, "2024-03-01T10:00:00.000Z".
    def timestamp(time)
      return nil if time.nil?

      time = Time.iso8601(time) if time.is_a?(String)
      time.utc.iso8601(3)
    end
  end
end
