# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/post_files"

RSpec.describe Forumsync::PostFiles do
  table = JSON.parse(File.read(File.join(ContractHelper::DIR, "post_files.json")))

  it "allows the contract's maximum number of files" do
    expect(described_class::MAX_FILES).to eq(table.fetch("max_files"))
  end

  table.fetch("cases").each do |row|
    it "handles #{row["name"]}" do
      files = described_class.new(row["raw"], row["files"])
      expect(files.errors).to eq(row["errors"])
      expect(files.substitute(row["urls"])).to eq(row["result"]) if row["result"]
    end
  end

  it "speaks English when asked" do
    files = described_class.new("x", 1, locale: "en")
    expect(files.errors).to eq(["File no. 0 was sent but the post does not refer to it."])
  end
end
