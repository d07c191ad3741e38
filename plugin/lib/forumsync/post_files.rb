# frozen_string_literal: true

require_relative "messages"
require_relative "validating"

module Forumsync
  # The forum refused one of the files (size, extension): the post is not created.
  class UploadRefused < StandardError
    attr_reader :filename

    def initialize(filename, reason)
      @filename = filename
      super(reason)
    end
  end

  # Files sent with the post itself (multipart field files[]), so that mirroring a mail with
  # attachments costs forumsync one API call instead of one per file plus the post. The raw
  # refers to the Nth file as "forumsync-file:N"; once the uploads exist each reference
  # becomes the upload's short URL. Shared cases: spec/fixtures/contract/post_files.json.
  class PostFiles
    MAX_FILES = 20
    REFERENCE = /forumsync-file:(\d+)(?!\d)/

    include Validating

    def initialize(raw, count, locale: Messages::DEFAULT_LOCALE)
      @raw = raw.to_s
      @count = count
      @locale = locale
      @errors = []
      validate
    end

    # The raw with every reference replaced by URLS[N] (one short URL per file, in order).
    def substitute(urls)
      @raw.gsub(REFERENCE) { urls.fetch(Regexp.last_match(1).to_i) }
    end

    private

    def validate
      if @count > MAX_FILES
        error(:too_many_files, count: @count, max: MAX_FILES)
        return
      end
      used = @raw.scan(REFERENCE).map { |(index)| index.to_i }.uniq.sort
      used.reject { |index| index < @count }.each { |index| error(:unknown_file, index: index) }
      (0...@count).reject { |index| used.include?(index) }.each { |index| error(:unused_file, index: index) }
    end
  end
end
