# frozen_string_literal: true

require "digest"

module Forumsync
  # Creates a topic or a reply as the (staged) user of an email address, once per Message-ID.
  # Discourse glue; the choices are made by plain Ruby (CreatorOptions, IncomingEmailRecord,
  # StagedUserResolver, Refusal: spec/lib) and checked in Discourse by spec/requests.
  #
  # The sender's user, the uploads, the post, its IncomingEmail and its outbound_message_id
  # are written in ONE transaction: if any step fails nothing is left behind (no post that
  # forumsync would then post again from the bridge account). Discourse's jobs and events for
  # the post run only after the commit (as Email::Receiver#create_post does).
  class StagedPostCreator
    Result = Struct.new(:post, :user, :created, keyword_init: true)

    def initialize(params, files: [], post_files: nil, user_store: DiscourseUserStore.new,
                   locale: Messages::DEFAULT_LOCALE)
      @params = params
      @files = files
      @post_files = post_files || PostFiles.new(params.raw, files.size)
      @user_store = user_store
      @locale = locale
    end

    def call
      key = "forumsync_post_#{Digest::SHA1.hexdigest(@params.message_id)}"
      DistributedMutex.synchronize(key) do
        existing = PostLookup.find(@params.message_id)
        next Result.new(post: existing, user: existing.user, created: false) if existing

        check_target!
        options, result = ::ActiveRecord::Base.transaction { create_all }
        after_commit(result, options)
        result
      end
    end

    private

    def create_all
      user = StagedUserResolver.new(@user_store, locale: @locale)
        .resolve(email: @params.email, name: @params.name, username_hint: @params.username_hint).user
      options = CreatorOptions.build(@params, raw: upload_files(user))
      creator = ::PostCreator.new(user, options)
      post = creator.create
      if post.nil? || !post.persisted? || creator.errors.present?
        raise Refusal.t(:post_refused, error_type: Refusal::POST, locale: @locale,
                                       reason: creator.errors.full_messages.join(" "))
      end
      record_incoming_email(post, user)
      # Email::Receiver#create_post: Discourse's notification mails about this post then
      # carry the list's Message-ID (Email::MessageIdService) and thread with the list copy.
      post.update_columns(outbound_message_id: @params.message_id)
      [options, Result.new(post: post, user: user, created: true)]
    end

    # What PostCreator skipped (skip_jobs, skip_events), once the transaction is committed, as
    # Email::Receiver#create_post does it: the post's jobs (PostAlerter…) and events (webhooks).
    def after_commit(result, options)
      post = result.post
      ::PostJobsEnqueuer.new(post, post.topic, !@params.reply?, import_mode: nil,
                                                                post_alert_options: nil).enqueue_jobs
      ::DiscourseEvent.trigger(:topic_created, post.topic, options, result.user) if post.is_first_post?
      ::DiscourseEvent.trigger(:post_created, post, options, result.user)
    end

    def check_target!
      if @params.reply?
        topic = ::Topic.find_by(id: @params.topic_id)
        raise Discourse::NotFound unless topic
        # TopicGuardian#can_create_post_on_topic?: only staff post in a closed or archived topic
        if topic.closed? || topic.archived?
          raise Refusal.t(:topic_closed, error_type: "topic_closed", locale: @locale, id: topic.id)
        end
        refuse_unless_everyone_may!(topic.category, ::CategoryGroup.permission_types[:create_post])
      else
        category = ::Category.find_by(id: @params.category_id)
        raise Discourse::NotFound unless category
        refuse_unless_everyone_may!(category, ::CategoryGroup.permission_types[:full])
      end
    end

    # The post is created without a guardian (a staged sender, as Email::Receiver does): the
    # list writes only where everyone may (PostGuardian#can_create_post? reads
    # Category.post_create_allowed; a public category without CategoryGroup rows is everyone's,
    # as CategorySerializer#group_permissions lists it). forumsync checks first; this holds if
    # a category changed meanwhile.
    def refuse_unless_everyone_may!(category, needed)
      if category
        rows = ::CategoryGroup.where(category_id: category.id)
        everyone = rows.find_by(group_id: ::Group::AUTO_GROUPS[:everyone])
        return if rows.none? && !category.read_restricted
        return if everyone && everyone.permission_type <= needed
      end
      raise Refusal.t(:category_closed, error_type: "category_closed", locale: @locale, id: category&.id)
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

    def record_incoming_email(post, user)
      ::IncomingEmail.create!(
        IncomingEmailRecord.attributes(params: @params, post: post, user: user,
                                       subject: post.topic&.title,
                                       to_address: SiteSetting.notification_email,
                                       types: ::IncomingEmail.created_via_types),
      )
    end
  end
end
