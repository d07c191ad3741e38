# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/post_lookup"

# PostLookup against an in-memory stand-in of the Discourse models it reads: Post and Topic
# are Trashable (app/models/concerns/trashable.rb: the default scope hides deleted rows,
# with_deleted shows them), trashing a post keeps its custom fields.
RSpec.describe Forumsync::PostLookup do
  LookupPost = Struct.new(:id, :topic_id, :deleted_at, :topic, keyword_init: true)
  LookupTopic = Struct.new(:id, :slug, :deleted_at, keyword_init: true)

  # where(...).where.not(...).order(:id).pick(:post_id) over rows of hashes
  class LookupRelation
    attr_reader :sql

    def initialize(rows, sql = [])
      @rows = rows
      @sql = sql
    end

    def where(conditions = nil, *binds)
      return self if conditions.nil?
      # a SQL fragment: recorded (its filter is the same as the value's, below)
      return LookupRelation.new(@rows, @sql + [[conditions, *binds]]) if conditions.is_a?(String)

      LookupRelation.new(@rows.select { |row| conditions.all? { |key, value| row[key] == value } }, @sql)
    end

    def not(conditions)
      LookupRelation.new(@rows.reject { |row| conditions.all? { |key, value| row[key] == value } }, @sql)
    end

    def order(key)
      LookupRelation.new(@rows.sort_by { |row| row[key] }, @sql)
    end

    def pick(key)
      LookupRelation.picked << @sql
      @rows.first&.fetch(key)
    end

    def self.picked
      @picked ||= []
    end
  end

  # A Trashable model: find_by hides deleted rows, with_deleted.find_by does not.
  class LookupTrashable
    def initialize(records, scoped: true)
      @records = records
      @scoped = scoped
    end

    def with_deleted
      LookupTrashable.new(@records, scoped: false)
    end

    def find_by(id:)
      record = @records[id]
      record if record && (!@scoped || record.deleted_at.nil?)
    end
  end

  let(:deleted_at) { Time.utc(2026, 12, 1) }
  let(:topic) { LookupTopic.new(id: 3, slug: "question-sve", deleted_at: nil) }
  let(:posts) { {} }
  let(:topics) { { 3 => topic } }
  let(:custom_fields) { [] }
  let(:incoming_emails) { [] }
  let(:visible) { true }

  before do
    fields = custom_fields
    emails = incoming_emails
    stub_const("PostCustomField", Class.new { define_singleton_method(:where) { |c| LookupRelation.new(fields).where(c) } })
    stub_const("IncomingEmail", Class.new { define_singleton_method(:where) { |c| LookupRelation.new(emails).where(c) } })
    stub_const("Post", LookupTrashable.new(posts))
    stub_const("Topic", LookupTrashable.new(topics))
    guardian = double("Guardian", can_see?: visible)
    stub_const("Guardian", Class.new { define_singleton_method(:new) { guardian } })
  end

  def field(id, post_id, message_id)
    { id: id, name: Forumsync::MESSAGE_ID_FIELD, value: message_id, post_id: post_id }
  end

  it "finds the post of a Message-ID, with its topic" do
    posts[10] = LookupPost.new(id: 10, topic_id: 3)
    custom_fields << field(1, 10, "sve-1@listes.example.org")
    post = described_class.find("sve-1@listes.example.org")
    expect(post.id).to eq(10)
    expect(post.topic.slug).to eq("question-sve")
  end

  it "still answers a post a moderator deleted: the Message-ID is not posted a second time" do
    posts[10] = LookupPost.new(id: 10, topic_id: 3, deleted_at: deleted_at)
    custom_fields << field(1, 10, "sve-1@listes.example.org")
    post = described_class.find("sve-1@listes.example.org")
    expect(post&.id).to eq(10)
  end

  it "answers the first post of a deleted topic with that topic (its slug, category and title)" do
    topic.deleted_at = deleted_at
    posts[10] = LookupPost.new(id: 10, topic_id: 3, deleted_at: deleted_at)
    custom_fields << field(1, 10, "sve-1@listes.example.org")
    post = described_class.find("sve-1@listes.example.org")
    expect(post&.topic&.slug).to eq("question-sve")
  end

  it "answers the first post of the Message-ID, deleted or not, never a later copy of it" do
    posts[10] = LookupPost.new(id: 10, topic_id: 3, deleted_at: deleted_at)
    posts[11] = LookupPost.new(id: 11, topic_id: 3)
    custom_fields << field(2, 11, "sve-1@listes.example.org") << field(1, 10, "sve-1@listes.example.org")
    expect(described_class.find("sve-1@listes.example.org")&.id).to eq(10)
  end

  it "asks for the Message-ID through Discourse's (name, left(value, 200)) index" do
    LookupRelation.picked.clear
    described_class.find("sve-1@listes.example.org")
    expect(LookupRelation.picked.first).to include(
      ["left(value, 200) = left(?, 200)", "sve-1@listes.example.org"],
    )
  end

  it "answers nothing for an unknown Message-ID or none" do
    expect(described_class.find("inconnu@example.org")).to be_nil
    expect(described_class.find(nil)).to be_nil
  end

  context "with a post Discourse made from an incoming email" do
    before do
      posts[20] = LookupPost.new(id: 20, topic_id: 3)
      incoming_emails << { id: 1, message_id: "mail-1@example.org", post_id: 20 }
    end

    it "answers it when anyone may see it" do
      expect(described_class.find("mail-1@example.org")&.id).to eq(20)
    end

    context "that nobody else may see" do
      let(:visible) { false }

      it "answers nothing (the Message-ID is the sender's claim)" do
        expect(described_class.find("mail-1@example.org")).to be_nil
      end
    end
  end
end
