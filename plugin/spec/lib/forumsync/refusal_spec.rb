# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/refusal"

# Stand-ins with the names and shapes of ActiveRecord's errors (no Rails here).
module ActiveRecord
  class ActiveRecordError < StandardError; end
  class RecordNotSaved < ActiveRecordError; end
  class RecordNotUnique < ActiveRecordError; end
  class StatementInvalid < ActiveRecordError; end

  class RecordInvalid < ActiveRecordError
    attr_reader :record

    def initialize(record)
      @record = record
      super("Validation failed: #{record.errors.full_messages.join(", ")}")
    end
  end
end

RSpec.describe Forumsync::Refusal do
  Errors = Struct.new(:full_messages)
  Record = Struct.new(:errors)

  it "maps PostCreator.create!'s RecordNotSaved (slow mode…) to a 422 with the reason" do
    refusal = described_class.from_exception(
      ActiveRecord::RecordNotSaved.new("Ce sujet est en mode lent."),
    )
    expect(refusal.status).to eq(422)
    expect(refusal.error_type).to eq("post_refused")
    expect(refusal.messages).to eq(["Le forum a refusé le message : Ce sujet est en mode lent."])
  end

  it "gives a RecordInvalid's record errors, not the English 'Validation failed' sentence" do
    error = ActiveRecord::RecordInvalid.new(Record.new(Errors.new(["Title is too short", "Raw is empty"])))
    expect(described_class.from_exception(error).messages)
      .to eq(["Le forum a refusé le message : Title is too short Raw is empty"])
  end

  it "maps a unique index violation (topics.external_id…) to a 422 'already exists'" do
    refusal = described_class.from_exception(ActiveRecord::RecordNotUnique.new("PG::UniqueViolation"))
    expect(refusal.status).to eq(422)
    expect(refusal.messages.first).to start_with("Le forum a refusé le message : un sujet ou un utilisateur identique existe déjà")
  end

  it "recognises subclasses and answers in English when asked" do
    subclass = Class.new(ActiveRecord::RecordNotSaved)
    expect(described_class.from_exception(subclass.new("slow"), locale: :en).messages)
      .to eq(["The forum refused the post: slow"])
  end

  it "leaves other errors alone (a bug stays visible as a 500)" do
    expect(described_class.from_exception(ActiveRecord::StatementInvalid.new("boom"))).to be_nil
    expect(described_class.from_exception(RuntimeError.new("boom"))).to be_nil
  end
end
