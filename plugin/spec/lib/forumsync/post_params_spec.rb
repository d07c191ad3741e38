# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/post_params"

RSpec.describe Forumsync::PostParams do
  cases = JSON.parse(File.read(File.join(ContractHelper::DIR, "posts_create.json"))).fetch("cases")

  cases.select { |item| item.dig("response", "status") == 422 }.each do |item|
    it "answers the contract's French errors for #{item["name"]}" do
      params = described_class.new(concrete(item.dig("request", "params")))
      expect(params).not_to be_valid
      expect(params.errors).to eq(item.dig("response", "values", "errors"))
    end

    it "answers English errors for #{item["name"]} when asked" do
      params = described_class.new(concrete(item.dig("request", "params")), locale: :en)
      expect(params.errors.length).to eq(item.dig("response", "values", "errors").length)
      expect(params.errors.join).not_to match(/paramètre|Indiquez|invalide :/)
    end
  end

  cases.select { |item| [200, 201].include?(item.dig("response", "status")) }.each do |item|
    it "accepts the parameters of #{item["name"]}" do
      params = described_class.new(concrete(item.dig("request", "params")))
      expect(params.errors).to eq([])
      expect(params).to be_valid
      expected = item.dig("response", "values", "message_id")
      expect(params.message_id).to eq(expected) if expected
    end
  end

  it "normalises a new topic's values" do
    item = cases.find { |c| c["name"] == "new_topic" }
    params = described_class.new(concrete(item.dig("request", "params"), "$category_id" => "7"))
    expect(params.email).to eq("marie.curie@example.org")
    expect(params.category_id).to eq(7)
    expect(params.reply?).to be(false)
    expect(params.created_at).to eq(Time.utc(2024, 3, 1, 10, 0, 0))
    expect(params.external_id).to eq("ml-0123456789abcdef0123456789abcdef01234567")
  end

  it "reads a reply with an offset date, symbol keys and string numbers" do
    params = described_class.new({ email: "a@b.fr", raw: "x", message_id: "<r@b.fr>", topic_id: "12",
                                 reply_to_post_number: "3", created_at: "2024-03-01T11:30:00+01:00" })
    expect(params).to be_valid
    expect(params.reply?).to be(true)
    expect([params.topic_id, params.reply_to_post_number]).to eq([12, 3])
    expect(params.created_at).to eq(Time.utc(2024, 3, 1, 10, 30))
  end

  it "refuses a reply that also names a title" do
    params = described_class.new({ email: "a@b.fr", raw: "x", message_id: "m@b", topic_id: 3, title: "T" })
    expect(params.errors).to eq(["Une réponse (« topic_id ») ne prend ni « title » ni « category_id »."])
  end

  it "accepts Discourse's « category » name for the category id" do
    params = described_class.new({ email: "a@b.fr", raw: "x", message_id: "m@b", title: "T", category: "4" })
    expect(params).to be_valid
    expect(params.category_id).to eq(4)
  end

  it "reads an optional username_hint, of at most 255 characters" do
    params = described_class.new({ email: "a@b.fr", raw: "x", message_id: "m@b", title: "T", category: "4",
                                   name: "Marie Curie (adresse non vérifiée)", username_hint: " sosie " })
    expect(params).to be_valid
    expect([params.name, params.username_hint]).to eq(["Marie Curie (adresse non vérifiée)", "sosie"])
    expect(described_class.new({ email: "a@b.fr", raw: "x", message_id: "m@b", title: "T", category: "4" })
      .username_hint).to be_nil
    long = described_class.new({ email: "a@b.fr", raw: "x", message_id: "m@b", title: "T", category: "4",
                                 username_hint: "x" * 256 })
    expect(long.errors).to eq(["« username_hint » dépasse 255 caractères."])
  end

  it "refuses a new topic without a category" do
    params = described_class.new({ email: "a@b.fr", raw: "x", message_id: "m@b", title: "Titre" })
    expect(params.errors).to eq(
      ["Indiquez « topic_id » (réponse) ou « title » et « category_id » (nouveau sujet)."],
    )
  end

  it "refuses a zero topic id, a blank raw and a too long title" do
    params = described_class.new({ email: "a@b.fr", raw: "  ", message_id: "m@b", topic_id: 0 })
    expect(params.errors).to eq(["Le paramètre « raw » est obligatoire.",
                                 "« topic_id » doit être un entier positif."])
    long = described_class.new({ email: "a@b.fr", raw: "x", message_id: "m@b", title: "t" * 256,
                               category_id: 1 })
    expect(long.errors).to eq(["« title » dépasse 255 caractères."])
  end

  it "takes tags as a list of strings only" do
    ok = described_class.new({ email: "a@b.fr", raw: "x", message_id: "m@b", title: "T", category_id: 1,
                             tags: ["SVE", " ", "open-data"] })
    expect(ok.tags).to eq(%w[SVE open-data])
    bad = described_class.new({ email: "a@b.fr", raw: "x", message_id: "m@b", title: "T", category_id: 1,
                              tags: "SVE" })
    expect(bad.errors).to eq(["« tags » doit être une liste d'étiquettes."])
  end
end
