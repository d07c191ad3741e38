# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/creator_options"
require "forumsync/post_params"

RSpec.describe Forumsync::CreatorOptions do
  let(:now) { Time.utc(2024, 3, 1, 12, 0, 0) }

  def params(extra = {})
    Forumsync::PostParams.new({ email: "a@b.fr", raw: "x", message_id: "<m@b.fr>", title: "T",
                                category_id: 4 }.merge(extra))
  end

  it "never lets the staged author auto-track or watch the topic, and defers jobs and events" do
    options = described_class.build(params, raw: "x", now: now)
    expect(options).to include(auto_track: false, skip_jobs: true, skip_events: true, via_email: true,
                               skip_validations: true, skip_guardian: true)
    expect(options[:custom_fields]).to eq(Forumsync::MESSAGE_ID_FIELD => "m@b.fr")
  end

  it "caps a date in the future to now, as Email::Receiver#create_post does" do
    future = described_class.build(params(created_at: "2030-01-01T00:00:00Z"), raw: "x", now: now)
    expect(future[:created_at]).to eq(now)
    past = described_class.build(params(created_at: "2024-03-01T10:00:00Z"), raw: "x", now: now)
    expect(past[:created_at]).to eq(Time.utc(2024, 3, 1, 10))
    expect(described_class.build(params, raw: "x", now: now)).not_to have_key(:created_at)
  end

  it "sends a new topic's title, category, external id and tags, a reply's topic and parent" do
    topic = described_class.build(params(external_id: "ml-1", tags: ["sve"]), raw: "body", now: now)
    expect(topic).to include(raw: "body", title: "T", category: 4, external_id: "ml-1", tags: ["sve"])
    expect(topic).not_to have_key(:topic_id)
    reply = described_class.build(
      Forumsync::PostParams.new({ email: "a@b.fr", raw: "x", message_id: "r@b", topic_id: 7,
                                  reply_to_post_number: 2 }), raw: "x", now: now,
    )
    expect(reply).to include(topic_id: 7, reply_to_post_number: 2)
    expect(reply.keys).not_to include(:title, :category, :tags)
  end
end
