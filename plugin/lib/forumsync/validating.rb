# frozen_string_literal: true

require_relative "messages"

module Forumsync
  # Shared by the request checks (PostParams, PostFiles): errors are full sentences in the
  # request's locale (@locale), collected in @errors by `error`.
  module Validating
    attr_reader :errors

    def valid?
      @errors.empty?
    end

    private

    def error(key, **vars)
      @errors << Messages.t("forumsync.errors.#{key}", locale: @locale, **vars)
    end
  end
end
