# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/email_address"
require "forumsync/post_params"

RSpec.describe Forumsync::EmailAddress do
  it "accepts what Discourse's EmailAddressValidator accepts" do
    ["test@discourse.org", "good_user@discourse.org", "marie.curie@mairie.example.fr",
     "o'brien+liste@example.org", "#{"a" * 64}@#{"b" * 251}.com"].each do |email|
      expect(described_class.valid?(email)).to be(true), email
    end
  end

  it "refuses doubled, leading or trailing dots, bad hosts, encoded words and over-long parts" do
    ["jean..x@example.org", ".jean@example.org", "jean.@example.org", "frank@invalid_host.com",
     "test@discourse.org; a@discourse.org", "élodie@example.org", "a@b", "x@-a.fr",
     "te=?utf-8?q?st?=@discourse.org", "#{"a" * 65}@example.org", "random", ""].each do |email|
      expect(described_class.valid?(email)).to be(false), email
    end
  end

  it "is the check PostParams applies, with the contract's French error" do
    contract("staged_senders").fetch("cases")
      .select { |item| item.dig("response", "values", "error_type") == "invalid_parameters" }
      .each do |item|
        params = Forumsync::PostParams.new(concrete(item.dig("request", "params")))
        expect(params.errors).to eq(item.dig("response", "values", "errors"))
      end
  end
end
