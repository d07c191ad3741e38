# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/batch_request"
require "forumsync/capabilities_builder"
require "stringio"

RSpec.describe Forumsync::BatchRequest do
  let(:table) { contract("posts_batch") }
  let(:max) { table.fetch("max_posts") }
  let(:batch_case) { contract_case("posts_batch", "batch") }
  let(:items) { batch_case.dig("request", "params", "posts").map { |item| concrete(item, "$category_id" => 7) } }

  it "uses the contract's maximum as the setting's default, announced in the capabilities" do
    expect(Forumsync::CapabilitiesBuilder::DEFAULT_BATCH_MAX_POSTS).to eq(max)
    expect(Forumsync::CapabilitiesBuilder.new.build).to include("batch_max_posts" => max)
    expect(Forumsync::CapabilitiesBuilder.new.build["features"]).to include("batch_posts")
  end

  it "refuses an empty list with the contract's sentence" do
    expected = contract_case("posts_batch", "empty").dig("response", "values", "errors")
    expect(described_class.new([], max: max).errors).to eq(expected)
    expect(described_class.new(nil, max: max).errors).to eq(expected)
    expect(described_class.new("pas du JSON", max: max).errors).to eq(expected)
  end

  it "refuses one post more than the maximum, and accepts the maximum" do
    item = items.first
    expect(described_class.new([item] * max, max: max)).to be_valid
    too_many = described_class.new([item] * (max + 1), max: max)
    expect(too_many.errors).to eq(["Trop de messages dans le lot : #{max + 1} (au plus #{max})."])
  end

  it "reads the list from JSON text (multipart) and from a form-encoded hash" do
    expect(described_class.new(JSON.generate(items), max: max).items).to eq(items)
    expect(described_class.new(StringIO.new(JSON.generate(items)), max: max).items).to eq(items)
    form = items.each_with_index.to_h { |item, index| [index.to_s, item] }
    expect(described_class.new(form, max: max).items).to eq(items)
  end

  it "turns a reference to an earlier item into its topic and post number" do
    batch = described_class.new(items, max: max)
    expect(batch.post_params_hash(0)).to include("title" => "Inscriptions à la cantine en ligne")
    batch.done("famille-1@listes.example.org", 31, 1)
    expect(batch.post_params_hash(1)).to include("topic_id" => 31, "reply_to_post_number" => 1)
    expect(batch.post_params_hash(1)).not_to have_key("reply_to_message_id")
  end

  it "lets no later item reply to a post that is not referable (found in a private topic)" do
    batch = described_class.new(items, max: max)
    batch.done("famille-1@listes.example.org", 31, 1, referable: false)
    expect { batch.post_params_hash(1) }.to raise_error(described_class::ItemRefused)
    batch.done("famille-1@listes.example.org", 31, 1)
    expect(batch.post_params_hash(1)).to include("topic_id" => 31, "reply_to_post_number" => 1)
  end

  it "refuses a reference to nothing earlier in the batch with the contract's sentence" do
    batch = described_class.new(items, max: max)
    expected = batch_case.fetch("items")[3].dig("values", "errors")
    expect { batch.post_params_hash(3) }.to raise_error(described_class::ItemRefused) { |error|
      expect(error.errors).to eq(expected)
      expect(error.status).to eq(422)
      expect(error.error_type).to eq("invalid_parameters")
    }
    # Not yet created: a reply to the first item before it exists is refused too.
    expect { batch.post_params_hash(1) }.to raise_error(described_class::ItemRefused)
  end

  it "refuses a reference combined with another target, and reply_to_post_id without topic_id" do
    batch = described_class.new([items[1].merge("topic_id" => 3), items[1].merge("reply_to_post_id" => 9)], max: max)
    batch.done("famille-1@listes.example.org", 31, 1)
    expect { batch.post_params_hash(0) }.to raise_error(described_class::ItemRefused, /ne se combine/)
    expect { batch.post_params_hash(1) }.to raise_error(described_class::ItemRefused, /demande « topic_id »/)
  end

  it "turns topic_of_message_id into the earlier item's topic, with no post replied to" do
    topic_case = contract_case("posts_batch", "topic_of")
    posts = topic_case.dig("request", "params", "posts").map { |item| concrete(item, "$category_id" => 7) }
    batch = described_class.new(posts, max: max)
    expect { batch.post_params_hash(1) }.to raise_error(described_class::ItemRefused)
    batch.done("ecole-1@listes.example.org", 44, 1)
    params = batch.post_params_hash(1)
    expect(params).to include("topic_id" => 44)
    expect(params).not_to have_key("reply_to_post_number")
    expect(params).not_to have_key("topic_of_message_id")
    expected = topic_case.fetch("items")
    [2, 3].each do |index|
      expect { batch.post_params_hash(index) }.to raise_error(described_class::ItemRefused) { |error|
        expect(error.errors).to eq(expected[index].dig("values", "errors"))
        expect(error.status).to eq(422)
      }
    end
    expect { described_class.new([posts[1].merge("topic_id" => 3)], max: max).post_params_hash(0) }
      .to raise_error(described_class::ItemRefused, /topic_of_message_id.*ne se combine/)
  end

  it "keeps reply_to_post_id apart from the post's parameters" do
    item = { "topic_id" => 4, "reply_to_post_number" => 3, "reply_to_post_id" => "12", "message_id" => "<a@b.c>" }
    batch = described_class.new([item], max: max)
    expect(batch.reply_to_post_id(0)).to eq(12)
    expect(batch.post_params_hash(0)).not_to have_key("reply_to_post_id")
    expect(batch.message_id(0)).to eq("a@b.c")
  end

  it "refuses an item that is not an object" do
    batch = described_class.new(["texte"], max: max)
    expect { batch.post_params_hash(0) }.to raise_error(described_class::ItemRefused, /n° 0/)
  end

  it "reads the users lookup's addresses: normalised, once, at most MAX_EMAILS" do
    emails, errors = described_class.emails([" Lea.Moreau@Example.ORG", "lea.moreau@example.org", "b@c.fr"])
    expect([emails, errors]).to eq([["lea.moreau@example.org", "b@c.fr"], []])
    expected = ["« emails » doit être une liste de 1 à 200 adresses."]
    expect(described_class.emails([])[1]).to eq(expected)
    expect(described_class.emails("a@b.fr")[1]).to eq(expected)
    expect(described_class.emails(["a@b.fr"] * 201)[1]).to eq(expected)
    expect(described_class.emails(["a@b.fr"] * 200)[1]).to eq([])
  end

  it "speaks English when asked" do
    expect(described_class.new([], max: 3, locale: "en").errors).to eq(["“posts” must be a list of 1 to 3 posts."])
  end
end
