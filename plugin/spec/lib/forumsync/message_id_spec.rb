# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/message_id"

RSpec.describe Forumsync::MessageId do
  table = JSON.parse(File.read(File.join(ContractHelper::DIR, "message_id.json")))

  table.fetch("cases").each do |row|
    it "normalizes #{row["input"].inspect} to #{row["normalized"].inspect}" do
      expect(described_class.normalize(row["input"])).to eq(row["normalized"])
    end
  end

  it "rejects ids longer than the contract's maximum" do
    long = "a" * (table.fetch("max_length") - 12) + "@example.org"
    expect(described_class.normalize("<#{long}>")).to eq(long)
    expect(described_class.normalize("<a#{long}>")).to be_nil
  end

  it "treats nil as nothing" do
    expect(described_class.normalize(nil)).to be_nil
  end

  it "gives the bracketed header form" do
    expect(described_class.bracketed(" abc@example.org ")).to eq("<abc@example.org>")
    expect(described_class.bracketed("<>")).to be_nil
  end
end
