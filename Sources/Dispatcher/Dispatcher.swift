public enum DispatcherModule {}
