# frozen_string_literal: true

module Forumsync
  # The addresses Discourse accepts for a user (lib/validators/email_address_validator.rb):
  # dot-atom local part (no leading, trailing or doubled dot), host names of letters, digits
  # and inner hyphens, no RFC 2047 encoded word; local part at most 64 characters, domain at
  # most 255. Checked before anything is created, so a sender Discourse would refuse gets a
  # clear 422 instead of a failure half-way through the post.
  module EmailAddress
    ATOM = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+"
    LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
    PATTERN = /\A#{ATOM}(?:\.#{ATOM})*@(?:#{LABEL}\.)+#{LABEL}\z/
    ENCODED_WORD = /=\?[^?]+\?[BbQq]\?[^?]+\?=/
    MAX_LOCAL = 64
    MAX_DOMAIN = 255

    module_function

    def valid?(email)
      text = email.to_s
      at = text.index("@")
      return false if at.nil? || at > MAX_LOCAL || text.length - at - 1 > MAX_DOMAIN

      text.match?(PATTERN) && !text.match?(ENCODED_WORD)
    end
  end
end
