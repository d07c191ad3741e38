# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/staged_user_resolver"

# staged_senders.json is checked end to end by spec/requests (Discourse) and by
# tests/themes/test_plugin_contract.py (local forum); here, its refusals against the resolver.
RSpec.describe "staged_senders contract" do
  let(:cases) { contract("staged_senders").fetch("cases") }

  it "has Discourse's defaults as its setup, so both forums run it alike" do
    expect(contract("staged_senders").dig("setup", "site_settings")).to eq("blocked_email_domains" => "mailinator.com")
  end

  it "expects the resolver's own sentence for a sender EmailValidator.allowed? refuses" do
    refusing = Class.new do
      def find_by_email(_email) = nil
      def staging_enabled? = true
      def email_allowed?(_email) = false
    end.new
    cases.select { |item| item.dig("response", "values", "error_type") == "sender_refused" && item.dig("response", "values", "errors") }
      .each do |item|
        email = item.dig("request", "params", "email")
        expect { Forumsync::StagedUserResolver.new(refusing).resolve(email: email) }
          .to raise_error(Forumsync::Refusal) { |refusal| expect(refusal.messages).to eq(item.dig("response", "values", "errors")) }
      end
  end

  it "expects every created sender to be staged and created, with a username" do
    cases.select { |item| item.dig("response", "status") == 201 }.each do |item|
      expect(item.dig("response", "values")).to include("staged" => true, "created" => true)
      expect(item.dig("response", "values", "username")).to match(/\A[A-Za-z0-9_][A-Za-z0-9_.-]{1,18}[A-Za-z0-9]\z/)
    end
  end
end
