DROP TYPE order_mood;
