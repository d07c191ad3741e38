# frozen_string_literal: true

module Forumsync
  # The IncomingEmail row written with each post (app/models/incoming_email.rb). Discourse
  # threads its own notification mails on it (Email::MessageIdService), and `created_via` is
  # an integer column validated for presence: it must be the value of
  # IncomingEmail.created_via_types[:handle_mail] (a Symbol would be cast to nil and the
  # row refused).
  module IncomingEmailRecord
    CREATED_VIA = :handle_mail
    SUBJECT_MAX = 255 # Email::Receiver#subject keeps [0..254]

    module_function

    # TYPES is Discourse's IncomingEmail.created_via_types (an Enum, i.e. a Hash).
    def created_via(types)
      value = types[CREATED_VIA]
      raise KeyError, "IncomingEmail.created_via_types has no #{CREATED_VIA}" unless value.is_a?(Integer)

      value
    end

    def attributes(params:, post:, user:, subject:, to_address:, types:)
      {
        user_id: user.id,
        topic_id: post.topic_id,
        post_id: post.id,
        message_id: params.message_id,
        from_address: params.email,
        to_addresses: to_address,
        subject: subject.to_s[0, SUBJECT_MAX],
        created_via: created_via(types),
      }
    end
  end
end
