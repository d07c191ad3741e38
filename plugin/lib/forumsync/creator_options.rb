# frozen_string_literal: true

require_relative "fields"

module Forumsync
  # The options given to Discourse's PostCreator for a list message (lib/post_creator.rb),
  # chosen as Email::Receiver#create_post chooses them for a mailing-list mirror:
  #
  # - skip_validations / skip_guardian: the list already accepted the message;
  # - via_email: shown as an email post;
  # - auto_track: false: PostCreator#track_topic and TopicCreator#watch_topic would make the
  #   staged author watch the topic, and PostAlerter would then mail them every reply on top
  #   of the list copy (a list member must get each message once);
  # - skip_jobs / skip_events: the post, its IncomingEmail and outbound_message_id are
  #   written in one transaction; the jobs (PostAlerter…) and events run after it commits,
  #   as Receiver does, so they never see a post that is rolled back;
  # - created_at: the message's date, capped to now (Receiver: a date in the future
  #   becomes now).
  module CreatorOptions
    module_function

    def build(params, raw:, now: Time.now.utc)
      options = {
        raw: raw,
        skip_validations: true,
        skip_guardian: true,
        via_email: true,
        auto_track: false,
        skip_jobs: true,
        skip_events: true,
        custom_fields: { MESSAGE_ID_FIELD => params.message_id },
      }
      created_at = cap_created_at(params.created_at, now)
      options[:created_at] = created_at if created_at
      params.reply? ? reply_options(options, params) : topic_options(options, params)
    end

    def cap_created_at(time, now)
      return nil if time.nil?

      time > now ? now : time
    end

    def reply_options(options, params)
      options[:topic_id] = params.topic_id
      options[:reply_to_post_number] = params.reply_to_post_number if params.reply_to_post_number
      options
    end

    def topic_options(options, params)
      options[:title] = params.title
      options[:category] = params.category_id
      options[:external_id] = params.external_id if params.external_id
      options[:tags] = params.tags if params.tags.any?
      options
    end
  end
end
