# frozen_string_literal: true

require "yaml"

module Forumsync
  # User-facing messages of the plain Ruby classes, read from config/locales/server.*.yml so
  # that Discourse's I18n and the unit specs (which run without Rails) share one text.
  module Messages
    LOCALES_DIR = File.expand_path("../../config/locales", __dir__)
    DEFAULT_LOCALE = "fr"

    def self.t(key, locale: DEFAULT_LOCALE, **vars)
      table = catalogue(locale.to_s)
      text = key.to_s.split(".").reduce(table) { |node, part| node.is_a?(Hash) ? node[part] : nil }
      text ||= fallback(key) if locale.to_s != DEFAULT_LOCALE
      raise KeyError, "forumsync: no message #{key} (#{locale})" if text.nil?
      text.gsub(/%\{(\w+)\}/) { vars.fetch(Regexp.last_match(1).to_sym).to_s }
    end

    def self.fallback(key)
      t(key, locale: DEFAULT_LOCALE)
    rescue KeyError
      nil
    end

    def self.catalogue(locale)
      @catalogues ||= {}
      @catalogues[locale] ||= begin
        path = File.join(LOCALES_DIR, "server.#{locale}.yml")
        File.exist?(path) ? (YAML.safe_load(File.read(path))[locale] || {}) : {}
      end
    end
  end
end
