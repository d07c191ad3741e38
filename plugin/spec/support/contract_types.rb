# frozen_string_literal: true

require "time"

# The contract fixtures' type names ("integer", "string|null", "datetime"…), one reading for
# the plain Ruby specs (spec/lib) and the request specs run inside Discourse.
module ContractTypes
  def self.match?(value, spec)
    spec.split("|").any? do |type|
      case type
      when "integer" then value.is_a?(Integer)
      when "string" then value.is_a?(String)
      when "boolean" then [true, false].include?(value)
      when "array" then value.is_a?(Array)
      when "object" then value.is_a?(Hash)
      when "null" then value.nil?
      when "datetime" then value.is_a?(String) && (Time.iso8601(value) rescue false)
      else raise ArgumentError, "unknown contract type #{type}"
      end
    end
  end
end
