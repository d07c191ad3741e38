# frozen_string_literal: true

require_relative "../lib_helper"
require "forumsync/incoming_email_record"
require "forumsync/post_params"

RSpec.describe Forumsync::IncomingEmailRecord do
  # IncomingEmail.created_via_types in app/models/incoming_email.rb (an Enum, a Hash).
  DISCOURSE_CREATED_VIA = { unknown: 0, handle_mail: 1, pop3_poll: 2, _deprecated_imap: 3, group_smtp: 4 }.freeze
  PostRow = Struct.new(:id, :topic_id)
  UserRow = Struct.new(:id)

  it "takes created_via from Discourse's enum (handle_mail), an Integer, never a Symbol" do
    expect(described_class.created_via(DISCOURSE_CREATED_VIA)).to eq(1)
    expect { described_class.created_via({ unknown: 0 }) }.to raise_error(KeyError, /handle_mail/)
    expect { described_class.created_via({ handle_mail: :handle_mail }) }.to raise_error(KeyError)
  end

  it "records the list message's Message-ID, sender and subject on the post" do
    params = Forumsync::PostParams.new({ email: "Marie@X.fr", raw: "x", message_id: "<m-1@liste.fr>",
                                         title: "T", category_id: 2 })
    attributes = described_class.attributes(params: params, post: PostRow.new(10, 3), user: UserRow.new(5),
                                            subject: "S" * 300, to_address: "forum@x.fr",
                                            types: DISCOURSE_CREATED_VIA)
    expect(attributes).to eq(user_id: 5, topic_id: 3, post_id: 10, message_id: "m-1@liste.fr",
                             from_address: "marie@x.fr", to_addresses: "forum@x.fr",
                             subject: "S" * 255, created_via: 1)
  end
end
