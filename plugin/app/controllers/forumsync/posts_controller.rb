# frozen_string_literal: true

module ::Forumsync
  class PostsController < ::ApplicationController
    requires_plugin PLUGIN_NAME
    skip_before_action :check_xhr
    before_action :ensure_admin

    # POST /forumsync/posts.json (JSON, or multipart with the files of the post: files[])
    def create
      post_params = PostParams.new(params.to_unsafe_h.except(:controller, :action, :format, :files),
                                   locale: I18n.locale)
      files = Array(params[:files]).select { |file| file.respond_to?(:tempfile) }
      post_files = PostFiles.new(post_params.raw, files.size, locale: I18n.locale)
      errors = post_params.errors + (post_params.raw ? post_files.errors : [])
      return render json: PostSerializer.errors(errors), status: :unprocessable_entity if errors.any?

      result = StagedPostCreator.new(post_params, files: files, post_files: post_files, locale: I18n.locale).call
      render json: PostSerializer.created(post: result.post, user: result.user,
                                          topic_slug: result.post.topic&.slug,
                                          message_id: post_params.message_id,
                                          created: result.created),
             status: PostSerializer.status(result.created)
    rescue UploadRefused => e
      message = Messages.t("forumsync.errors.upload_refused", locale: I18n.locale,
                           name: e.filename, reason: e.message)
      render json: PostSerializer.errors([message]), status: :unprocessable_entity
    rescue Refusal => e
      render json: PostSerializer.errors(e.messages, e.error_type), status: e.status
    rescue ::ActiveRecord::ActiveRecordError => e
      refusal = Refusal.from_exception(e, locale: I18n.locale)
      raise if refusal.nil?

      render json: PostSerializer.errors(refusal.messages, refusal.error_type), status: refusal.status
    end

    # GET /forumsync/posts/by-message-id.json?message_id=
    def by_message_id
      message_id = MessageId.normalize(params.require(:message_id))
      post = PostLookup.find(message_id)
      raise Discourse::NotFound if post.nil?

      guardian.ensure_can_see!(post)
      json = ::PostSerializer.new(post, scope: guardian, root: false, add_raw: true).as_json
      render json: PostSerializer.lookup(json, message_id)
    end
  end
end
