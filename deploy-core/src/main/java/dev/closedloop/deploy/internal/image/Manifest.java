package dev.closedloop.deploy.internal.image;


/**
 * A manifest exactly as the registry stores it: the bytes, their media type and digest. Moving
 * a tag puts these same bytes under it, so the digest (and every platform of an index) is kept.
 */
public record Manifest(byte[] content, String mediaType, String digest) {}
