# frozen_string_literal: true

require "json"
require_relative "messages"
require_relative "message_id"

module Forumsync
  # POST /forumsync/posts/batch.json: up to `max` posts in one request, so that publishing a
  # list's backlog costs forumsync one API call per batch instead of one per message (Discourse
  # allows 60 admin API requests a minute for the whole site by default). Pure Ruby: reads the
  # list, resolves in-batch references; BatchPostsController does the Discourse part.
  # Shared cases: spec/fixtures/contract/posts_batch.json.
  class BatchRequest
    TARGET_KEYS = %w[topic_id reply_to_post_number title category_id category].freeze
    MAX_EMAILS = 200 # POST /forumsync/users/by-email.json

    # [normalised addresses, errors] of the users lookup's "emails" parameter.
    def self.emails(value, locale: Messages::DEFAULT_LOCALE)
      list = value.is_a?(Array) ? value : nil
      if list.nil? || list.empty? || list.size > MAX_EMAILS || !list.all? { |item| item.is_a?(String) }
        return [[], [Messages.t("forumsync.batch.emails", locale: locale, max: MAX_EMAILS)]]
      end

      [list.map { |email| email.strip.downcase }.reject(&:empty?).uniq, []]
    end

    # An item refused before or while it is created: its HTTP-like status, sentences, type.
    class ItemRefused < StandardError
      attr_reader :status, :errors, :error_type

      def initialize(status, errors, error_type)
        @status = status
        @errors = Array(errors)
        @error_type = error_type
        super(@errors.join("; "))
      end
    end

    attr_reader :items, :errors

    # POSTS: the list (JSON body), its JSON text or an uploaded JSON part (multipart), or a
    # Rails hash {"0" => …} (form-encoded).
    def initialize(posts, max:, locale: Messages::DEFAULT_LOCALE)
      @max = max
      @locale = locale
      @errors = []
      @items = read(posts)
      @done = {}
    end

    def valid?
      @errors.empty?
    end

    # The item's parameters as PostParams reads them: reply_to_message_id becomes the topic and
    # post number of an item created (or found) earlier in this batch. Raises ItemRefused.
    def post_params_hash(index)
      item = @items[index]
      unless item.is_a?(Hash)
        raise ItemRefused.new(422, [t("not_an_object", index: index)], "invalid_parameters")
      end

      item = item.each_with_object({}) { |(key, value), out| out[key.to_s] = value }
      if present?(item["reply_to_post_id"]) && !present?(item["topic_id"])
        raise ItemRefused.new(422, [t("post_id_without_topic")], "invalid_parameters")
      end

      item.delete("reply_to_post_id")
      topic_reference = item.delete("topic_of_message_id")
      reference = item.delete("reply_to_message_id")
      return topic_of(item, topic_reference, reference) if present?(topic_reference)
      return item unless present?(reference)

      if TARGET_KEYS.any? { |key| present?(item[key]) }
        raise ItemRefused.new(422, [t("reference_with_target")], "invalid_parameters")
      end

      parent = @done[MessageId.normalize(reference)]
      if parent.nil?
        raise ItemRefused.new(422, [t("unknown_reference", value: reference.to_s.strip)], "invalid_parameters")
      end

      item.merge("topic_id" => parent[0], "reply_to_post_number" => parent[1])
    end

    # topic_of_message_id: a reply in the topic of an item earlier in this batch, to no post
    # (a reply matched by its subject). Raises ItemRefused.
    def topic_of(item, topic_reference, reference)
      if present?(reference) || TARGET_KEYS.any? { |key| present?(item[key]) }
        raise ItemRefused.new(422, [t("topic_reference_with_target")], "invalid_parameters")
      end

      parent = @done[MessageId.normalize(topic_reference)]
      if parent.nil?
        raise ItemRefused.new(422, [t("unknown_topic_reference", value: topic_reference.to_s.strip)],
                              "invalid_parameters")
      end

      item.merge("topic_id" => parent[0])
    end

    # reply_to_post_id of an item (the post it answers, which must still be in topic_id), or nil.
    def reply_to_post_id(index)
      item = @items[index]
      value = item.is_a?(Hash) ? (item["reply_to_post_id"] || item[:reply_to_post_id]) : nil
      present?(value) ? value.to_s.strip.to_i : nil
    end

    # The raw Message-ID an item gave (for the result of a refused item), normalised.
    def message_id(index)
      item = @items[index]
      item.is_a?(Hash) ? MessageId.normalize(item["message_id"] || item[:message_id]) : nil
    end

    # Item INDEX answered by the post of MESSAGE_ID: later items may reply to it, unless it is
    # not REFERABLE (a post found by its Message-ID in a topic no visitor may read: a private
    # message, a restricted category; a reference must not carry a post there, the items
    # being created without a guardian).
    def done(message_id, topic_id, post_number, referable: true)
      if referable
        @done[message_id] = [topic_id, post_number]
      else
        @done.delete(message_id)
      end
    end

    def t(key, **vars)
      Messages.t("forumsync.batch.#{key}", locale: @locale, **vars)
    end

    private

    def read(posts)
      posts = posts.read if posts.respond_to?(:read) # multipart: the list as a JSON part of its own
      posts = parse_json(posts) if posts.is_a?(String)
      posts = posts.to_unsafe_h if posts.respond_to?(:to_unsafe_h)
      if posts.is_a?(Hash) && posts.keys.all? { |key| key.to_s.match?(/\A\d+\z/) }
        posts = posts.sort_by { |key, _| key.to_s.to_i }.map(&:last)
      end
      posts = posts.map { |item| item.respond_to?(:to_unsafe_h) ? item.to_unsafe_h : item } if posts.is_a?(Array)
      if !posts.is_a?(Array) || posts.empty?
        @errors << t("posts", max: @max)
        return []
      end
      @errors << t("too_many", count: posts.size, max: @max) if posts.size > @max
      posts
    end

    def parse_json(text)
      JSON.parse(text)
    rescue JSON::ParserError
      nil
    end

    def present?(value)
      !(value.nil? || (value.is_a?(String) && value.strip.empty?))
    end
  end
end
