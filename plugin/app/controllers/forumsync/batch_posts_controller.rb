# frozen_string_literal: true

module ::Forumsync
  # POST /forumsync/posts/batch.json: up to SiteSetting.forumsync_batch_max_posts posts, created
  # in order through the single endpoint's StagedPostCreator, each succeeding or failing on its
  # own (contract: spec/fixtures/contract/posts_batch.json). Besides the single endpoint's
  # checks, a reply in a closed or archived topic, or to a post no longer in its topic, is
  # refused (forumsync then applies its own rule: bridge account and notice, follow the move),
  # and with staged_only the address of an account that is not staged is refused (forumsync
  # decides how it posts).
  class BatchPostsController < ::ApplicationController
    requires_plugin PLUGIN_NAME
    skip_before_action :check_xhr
    before_action :ensure_admin

    CREATED = [PostSerializer::CREATED, PostSerializer::EXISTING].freeze

    def create
      batch = BatchRequest.new(params[:posts], max: SiteSetting.forumsync_batch_max_posts, locale: I18n.locale)
      return render json: PostSerializer.errors(batch.errors), status: :unprocessable_entity unless batch.valid?

      staged_only = ActiveModel::Type::Boolean.new.cast(params[:staged_only])
      stop = ActiveModel::Type::Boolean.new.cast(params[:stop_at_refusal])
      results = []
      batch.items.each_index do |index|
        # stop_at_refusal: after a refused item, the rest waits for forumsync to post that one
        # its own way first, so that posts keep the order of the messages.
        if stop && results.any? && !CREATED.include?(results.last["status"])
          results << refused(batch, index, 409, [batch.t("not_attempted")], "not_attempted")
        else
          results << create_item(batch, index, staged_only)
        end
      end
      render json: { "posts" => results }
    end

    private

    def create_item(batch, index, staged_only)
      # Idempotent: a known Message-ID answers its post, whatever the rest of the item says.
      known = PostLookup.find(batch.message_id(index))
      return result(batch, known, known.user, batch.message_id(index), false) if known

      post_params = PostParams.new(batch.post_params_hash(index), locale: I18n.locale)
      files = item_files(index)
      post_files = PostFiles.new(post_params.raw, files.size, locale: I18n.locale)
      errors = post_params.errors + (post_params.raw ? post_files.errors : [])
      raise BatchRequest::ItemRefused.new(422, errors, "invalid_parameters") if errors.any?

      check_reply!(batch, index, post_params) if post_params.reply?
      check_author!(batch, post_params) if staged_only
      created = StagedPostCreator.new(post_params, files: files, post_files: post_files, locale: I18n.locale).call
      result(batch, created.post, created.user, post_params.message_id, created.created)
    rescue BatchRequest::ItemRefused => e
      refused(batch, index, e.status, e.errors, e.error_type)
    rescue Discourse::NotFound
      refused(batch, index, 404, [batch.t("topic_not_found", id: post_params&.topic_id || post_params&.category_id)],
              "not_found")
    rescue Discourse::InvalidAccess
      refused(batch, index, 403, [I18n.t("invalid_access")], "invalid_access")
    rescue UploadRefused => e
      refused(batch, index, 422, [Messages.t("forumsync.errors.upload_refused", locale: I18n.locale,
                                             name: e.filename, reason: e.message)], "invalid_parameters")
    rescue Refusal => e
      refused(batch, index, e.status, e.messages, e.error_type)
    rescue ::ActiveRecord::ActiveRecordError => e
      refusal = Refusal.from_exception(e, locale: I18n.locale)
      refusal ? refused(batch, index, refusal.status, refusal.messages, refusal.error_type) : server_error(batch, index, e)
    rescue StandardError => e
      server_error(batch, index, e)
    end

    # One post's unexpected failure must not lose the others: reported as a server error on
    # that item alone (forumsync tries it again later through the single endpoint).
    def server_error(batch, index, error)
      Discourse.warn_exception(error, message: "forumsync batch item #{index} failed")
      refused(batch, index, 500, [batch.t("failed", reason: error.message)], "server_error")
    end

    # The single endpoint's body plus the topic's category and title (forumsync records them
    # without reading the topic); later items of the batch may now reply to this post, if this
    # request created it: a post found again by its Message-ID may be anywhere now (moved to a
    # read-only or restricted category), and items are created without a guardian, so a reply
    # to it goes alone, through forumsync's own check of that topic (red-team pass 16).
    def result(batch, post, user, message_id, created)
      topic = post.topic
      batch.done(message_id, post.topic_id, post.post_number, referable: created)
      PostSerializer
        .created(post: post, user: user, topic_slug: topic&.slug, message_id: message_id, created: created)
        .merge("status" => PostSerializer.status(created), "category_id" => topic&.category_id,
               "topic_title" => topic&.title)
    end

    def check_reply!(batch, index, post_params)
      topic = ::Topic.find_by(id: post_params.topic_id)
      if topic.nil?
        raise BatchRequest::ItemRefused.new(404, [batch.t("topic_not_found", id: post_params.topic_id)], "not_found")
      end
      if topic.closed? || topic.archived?
        raise BatchRequest::ItemRefused.new(409, [batch.t("topic_closed", id: topic.id)], "topic_closed")
      end

      parent_id = batch.reply_to_post_id(index)
      return if parent_id.nil? || ::Post.where(id: parent_id, topic_id: topic.id).exists?

      raise BatchRequest::ItemRefused.new(409, [batch.t("parent_moved", post_id: parent_id, topic_id: topic.id)],
                                          "parent_moved")
    end

    # Any account that is not staged (active or not: an inactive one must not post either,
    # Email::Receiver#log_and_validate_user) is refused here; forumsync decides for it.
    def check_author!(batch, post_params)
      user = ::User.find_by_email(post_params.email)
      return if user.nil? || user.staged?

      raise BatchRequest::ItemRefused.new(409, [batch.t("active_user", email: post_params.email)], "active_user")
    end

    def refused(batch, index, status, errors, error_type)
      { "status" => status, "message_id" => batch.message_id(index),
        "errors" => Array(errors), "error_type" => error_type }
    end

    # Multipart: files[<index>][] are the files of item INDEX.
    def item_files(index)
      all = params[:files]
      return [] unless all.respond_to?(:[]) && !all.is_a?(String)

      Array(all[index.to_s] || all[index]).select { |file| file.respond_to?(:tempfile) }
    end
  end
end
