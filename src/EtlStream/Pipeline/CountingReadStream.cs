namespace EtlStream.Pipeline;

/// <summary>
/// Hands a source's bytes through unchanged and reports how many each read returned: how a live display measures
/// progress within a file (a file's compressed bytes, read as the decompressor asks for them). With a
/// <paramref name="clock"/> it also adds the time each read took to that stage: a small entry read without a
/// read-ahead task still shows its decompression time. Seeks pass through, as a zip reader needs them.
/// </summary>
internal sealed class CountingReadStream(Stream inner, Action<int> counted, StageClock? clock = null) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => inner.Position = value; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var started = clock is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
        var n = inner.Read(buffer);
        clock?.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return Counted(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var started = clock is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        clock?.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return Counted(n);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override ValueTask DisposeAsync() => inner.DisposeAsync();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Counted(int n)
    {
        counted(n);
        return n;
    }
}
