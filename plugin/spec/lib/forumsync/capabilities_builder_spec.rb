# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/capabilities_builder"

RSpec.describe Forumsync::CapabilitiesBuilder do
  it "answers the contract" do
    response = contract_case("capabilities", "capabilities").fetch("response")
    body = JSON.parse(JSON.generate(described_class.new.build))
    expect(response.fetch("status")).to eq(200)
    expect_contract_shape(body, response)
    expect_contract_values(body, response)
    expect(body["version"]).to eq(Forumsync::VERSION)
  end

  it "does not share its feature list" do
    body = described_class.new.build
    body["features"] << "other"
    expect(described_class.new.build["features"]).not_to include("other")
  end
end
