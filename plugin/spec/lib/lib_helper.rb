# frozen_string_literal: true

# Helper of the plain Ruby specs (no Discourse): `cd plugin && rspec spec/lib`.
require "json"
require "time"
require_relative "../support/contract_types"

PLUGIN_ROOT = File.expand_path("../..", __dir__)
$LOAD_PATH.unshift(File.join(PLUGIN_ROOT, "lib"))

require "forumsync/version"
require "forumsync/fields"

module ContractHelper
  DIR = File.join(PLUGIN_ROOT, "spec", "fixtures", "contract")

  def contract(name)
    JSON.parse(File.read(File.join(DIR, "#{name}.json")))
  end

  def contract_case(name, case_name)
    contract(name).fetch("cases").find { |item| item["name"] == case_name } ||
      raise(KeyError, "no case #{case_name} in #{name}.json")
  end

  # Placeholders ("$category_id", "$new_topic.id") replaced by plausible ids.
  def concrete(params, ids = {})
    params.transform_values do |value|
      value.is_a?(String) && value.start_with?("$") ? ids.fetch(value, 42) : value
    end
  end

  # Type check of contract `required` entries ("integer", "string|null", "datetime"…).
  def type_matches?(value, spec)
    ContractTypes.match?(value, spec)
  end

  def expect_contract_shape(body, response)
    response.fetch("required").each do |key, type|
      expect(body).to have_key(key)
      expect(type_matches?(body[key], type)).to be(true), "#{key}: #{body[key].inspect} is not #{type}"
    end
  end

  # Exact `values` (datetimes compared as instants); "$…" references are skipped here.
  def expect_contract_values(body, response, types = response.fetch("required"))
    response.fetch("values", {}).each do |key, expected|
      next if expected.is_a?(String) && expected.start_with?("$")

      if types[key] == "datetime"
        expect(Time.iso8601(body[key])).to eq(Time.iso8601(expected))
      else
        expect(body[key]).to eq(expected)
      end
    end
  end
end

RSpec.configure { |config| config.include ContractHelper }
