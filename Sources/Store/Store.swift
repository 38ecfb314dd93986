public enum StoreModule {}
