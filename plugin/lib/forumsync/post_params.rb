# frozen_string_literal: true

require "time"
require_relative "messages"
require_relative "validating"
require_relative "message_id"
require_relative "email_address"

module Forumsync
  # Validates the parameters of POST /forumsync/posts.json. Errors are full sentences in the
  # requested locale (French first), in the order of the fields below.
  class PostParams
    EXTERNAL_ID = /\A[A-Za-z0-9_-]{1,50}\z/
    MAX_TITLE = 255
    MAX_NAME = 255

    include Validating

    attr_reader :email, :name, :username_hint, :raw, :message_id, :title, :category_id, :topic_id,
                :reply_to_post_number, :created_at, :external_id, :tags

    def initialize(params, locale: Messages::DEFAULT_LOCALE)
      @params = (params || {}).each_with_object({}) { |(key, value), out| out[key.to_s] = value }
      # "category" is the name Discourse's POST /posts.json uses; both are accepted.
      @params["category_id"] = @params.delete("category") if @params.key?("category") && !@params.key?("category_id")
      @locale = locale
      @errors = []
      validate
    end

    def reply?
      !@topic_id.nil?
    end

    def to_h
      {
        email: @email, name: @name, username_hint: @username_hint, raw: @raw, message_id: @message_id, title: @title,
        category_id: @category_id, topic_id: @topic_id,
        reply_to_post_number: @reply_to_post_number, created_at: @created_at,
        external_id: @external_id, tags: @tags,
      }
    end

    private

    def validate
      validate_email
      @name = text("name")
      error(:too_long, name: "name", max: MAX_NAME) if @name && @name.length > MAX_NAME
      # What a new staged user's username is made from instead of the name (forumsync sends
      # it for a sender whose name is marked "adresse non vérifiée"; capability username_hint).
      @username_hint = text("username_hint")
      error(:too_long, name: "username_hint", max: MAX_NAME) if @username_hint && @username_hint.length > MAX_NAME
      @raw = text("raw", strip: false)
      error(:required, name: "raw") if @raw.nil? || @raw.strip.empty?
      validate_message_id
      validate_target
      @reply_to_post_number = integer("reply_to_post_number")
      @created_at = time("created_at")
      validate_external_id
      validate_tags
    end

    def validate_email
      value = text("email")
      if value.nil?
        error(:required, name: "email")
      elsif !EmailAddress.valid?(value)
        error(:invalid_email, value: value)
      else
        @email = value.downcase
      end
    end

    def validate_message_id
      value = text("message_id", strip: false)
      if value.nil? || value.strip.empty?
        error(:required, name: "message_id")
      else
        @message_id = MessageId.normalize(value)
        error(:invalid_message_id, value: value.strip) if @message_id.nil?
      end
    end

    def validate_target
      given_topic = present?("topic_id")
      @topic_id = integer("topic_id")
      @title = text("title")
      @category_id = integer("category_id")
      if given_topic
        error(:reply_with_title) if present?("title") || present?("category_id")
      elsif @title.nil? || !present?("category_id")
        error(:missing_target)
      elsif @title.length > MAX_TITLE
        error(:too_long, name: "title", max: MAX_TITLE)
      end
    end

    def validate_external_id
      value = text("external_id")
      return if value.nil?

      value.match?(EXTERNAL_ID) ? (@external_id = value) : error(:invalid_external_id)
    end

    def validate_tags
      value = @params["tags"]
      if value.nil? || value == ""
        @tags = []
      elsif value.is_a?(Array) && value.all? { |tag| tag.is_a?(String) }
        @tags = value.map(&:strip).reject(&:empty?)
      else
        @tags = []
        error(:invalid_tags)
      end
    end

    def present?(key)
      value = @params[key]
      !(value.nil? || (value.is_a?(String) && value.strip.empty?))
    end

    def text(key, strip: true)
      return nil unless present?(key)

      value = @params[key].to_s
      strip ? value.strip : value
    end

    def integer(key)
      return nil unless present?(key)

      value = @params[key]
      number = value.is_a?(Integer) ? value : (value.to_s.strip.match?(/\A\d+\z/) ? value.to_s.to_i : nil)
      return number if number && number.positive?

      error(:invalid_integer, name: key)
      nil
    end

    def time(key)
      return nil unless present?(key)

      Time.iso8601(@params[key].to_s.strip).utc
    rescue ArgumentError
      error(:invalid_date, name: key, value: @params[key].to_s.strip)
      nil
    end
  end
end
