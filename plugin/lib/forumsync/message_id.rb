# frozen_string_literal: true

module Forumsync
  # Message-IDs are stored as forumsync stores them: without angle brackets or whitespace,
  # case kept. The table of cases lives in spec/fixtures/contract/message_id.json.
  module MessageId
    MAX_LENGTH = 998

    # "<abc@example.org>" → "abc@example.org"; nil when nothing usable is left.
    def self.normalize(value)
      text = value.to_s.gsub(/\r?\n[ \t]*/, "").strip
      return nil if text.empty?

      inner =
        if text.start_with?("<")
          match = text.match(/\A<([^<>]*)>/)
          match && match[1].strip
        elsif text.match?(/[<>\s]/)
          nil
        else
          text
        end
      return nil if inner.nil? || inner.empty? || inner.match?(/[\s<>]/) || inner.length > MAX_LENGTH

      inner
    end

    # The form Discourse's IncomingEmail and mail headers use.
    def self.bracketed(value)
      normalized = normalize(value)
      normalized && "<#{normalized}>"
    end
  end
end
