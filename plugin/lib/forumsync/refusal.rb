# frozen_string_literal: true

require_relative "messages"

module Forumsync
  # A post the forum will not make, with the reason in the request's language: answered as
  # 422 {"errors": [...], "error_type": ...}. Never a 500: forumsync retries 5xx answers,
  # and a refusal does not go away by retrying.
  class Refusal < StandardError
    STATUS = 422
    SENDER = "sender_refused"   # the address cannot become a (staged) forum user
    POST = "post_refused"       # Discourse refused the post itself

    # Errors Discourse raises from PostCreator / User.create! that its ApplicationController
    # does not answer cleanly (RecordNotSaved: slow mode, topic gone…; RecordNotUnique: a
    # unique index, e.g. topics.external_id). RecordInvalid is answered 422 by Discourse,
    # but in English and without our error_type: mapped here too.
    MAPPED = {
      "ActiveRecord::RecordNotSaved" => :post_refused,
      "ActiveRecord::RecordInvalid" => :post_refused,
      "ActiveRecord::RecordNotUnique" => :duplicate,
    }.freeze

    attr_reader :messages, :error_type

    def initialize(messages, error_type)
      @messages = Array(messages)
      @error_type = error_type
      super(@messages.join(" "))
    end

    def status
      STATUS
    end

    def self.t(key, error_type:, locale: Messages::DEFAULT_LOCALE, **vars)
      new([Messages.t("forumsync.errors.#{key}", locale: locale, **vars)], error_type)
    end

    # The Refusal for ERROR, or nil when it is not one Discourse leaves unanswered (a bug
    # then stays a 500, visible in the logs).
    def self.from_exception(error, locale: Messages::DEFAULT_LOCALE)
      name = error.class.ancestors.map(&:name).find { |ancestor| MAPPED.key?(ancestor) }
      return nil if name.nil?

      t(MAPPED.fetch(name), error_type: POST, locale: locale, reason: reason_of(error))
    end

    def self.reason_of(error)
      record = error.respond_to?(:record) ? error.record : nil
      messages = record.respond_to?(:errors) ? Array(record.errors.full_messages) : []
      messages.empty? ? error.message.to_s : messages.join(" ")
    end
  end
end
