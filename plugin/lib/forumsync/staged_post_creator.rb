# frozen_string_literal: true

require "digest"

module Forumsync
  # Creates a topic or a reply as the (staged) user of an email address, once per Message-ID.
  # Discourse glue: the validation is PostParams', the rules are tested in spec/requests.
  class StagedPostCreator
    Result = Struct.new(:post, :user, :created, keyword_init: true)

    def initialize(params, files: [], post_files: nil, user_store: DiscourseUserStore.new)
      @params = params
      @files = files
      @post_files = post_files || PostFiles.new(params.raw, files.size)
      @user_store = user_store
    end

    def call
      key = "forumsync_post_#{Digest::SHA1.hexdigest(@params.message_id)}"
      DistributedMutex.synchronize(key) do
        existing = PostLookup.find(@params.message_id)
        next Result.new(post: existing, user: existing.user, created: false) if existing

        check_target!
        user = StagedUserResolver.new(@user_store).resolve(email: @params.email, name: @params.name).user
        post = PostCreator.create!(user, creator_options(upload_files(user)))
        record_incoming_email(post, user)
        Result.new(post: post, user: user, created: true)
      end
    end

    private

    def check_target!
      if @params.reply?
        raise Discourse::NotFound unless ::Topic.exists?(id: @params.topic_id)
      else
        raise Discourse::NotFound unless ::Category.exists?(id: @params.category_id)
      end
    end

    # The files sent with the post become uploads of its author (Discourse keeps one upload per
    # SHA-1, so a logo sent again is the same upload); their references become short URLs.
    def upload_files(user)
      return @params.raw if @files.empty?

      urls = @files.map do |file|
        upload = ::UploadCreator.new(file.tempfile, file.original_filename, type: "composer")
          .create_for(user.id)
        raise UploadRefused.new(file.original_filename, upload.errors.full_messages.join(" ")) if upload.errors.any?

        upload.short_url
      end
      @post_files.substitute(urls)
    end

    def creator_options(raw)
      options = {
        raw: raw,
        skip_validations: true,
        skip_guardian: true,
        via_email: true,
        custom_fields: { MESSAGE_ID_FIELD => @params.message_id },
      }
      options[:created_at] = @params.created_at if @params.created_at
      if @params.reply?
        options[:topic_id] = @params.topic_id
        options[:reply_to_post_number] = @params.reply_to_post_number if @params.reply_to_post_number
      else
        options[:title] = @params.title
        options[:category] = @params.category_id
        options[:external_id] = @params.external_id if @params.external_id
        options[:tags] = @params.tags if @params.tags.any?
      end
      options
    end

    # Discourse threads its notification emails with IncomingEmail.message_id (Email::Sender
    # builds In-Reply-To/References from it), so replies made on the forum join the list thread.
    def record_incoming_email(post, user)
      ::IncomingEmail.create!(
        user_id: user.id,
        topic_id: post.topic_id,
        post_id: post.id,
        message_id: @params.message_id,
        from_address: @params.email,
        to_addresses: SiteSetting.notification_email,
        subject: post.topic&.title,
        created_via: :handle_mail,
      )
    end
  end
end
