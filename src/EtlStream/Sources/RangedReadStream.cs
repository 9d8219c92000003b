using System.Buffers;
using System.Globalization;
using System.Runtime.ExceptionServices;
using EtlStream.Resilience;

namespace EtlStream.Sources;

/// <summary>How an object store reads one object: block size, blocks in flight, and retries of a block whose body broke.</summary>
public sealed record RangedReadOptions
{
    /// <summary>Bytes per ranged request; each block in flight holds one buffer of this size.</summary>
    public int BlockSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>Ranged requests running at once per object: memory per object is at most this many blocks.</summary>
    public int MaxInFlight { get; init; } = 4;

    /// <summary>Attempts per block when its connection breaks mid-body (the HTTP pipeline retries failed requests itself).</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>The first wait before another attempt; it doubles with each one.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public IEnumerable<string> Validate(string path)
    {
        if (BlockSize < 64 * 1024)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{path}.block_size: {BlockSize} is below 64 KiB");
        }

        if (MaxInFlight is < 1 or > 64)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{path}.max_in_flight: {MaxInFlight} is not between 1 and 64");
        }

        if (MaxAttempts < 1)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{path}.max_attempts: {MaxAttempts} is below 1");
        }
    }
}

/// <summary>
/// Reads a stored object as one forward stream from parallel ranged reads: blocks of
/// <see cref="RangedReadOptions.BlockSize"/> are fetched ahead, at most <see cref="RangedReadOptions.MaxInFlight"/> at
/// once, into pooled buffers, and handed out in order. Each block is read by <c>readRange</c>, which the store pins
/// to the version seen at listing, so a changed object fails instead of mixing versions; a body that breaks
/// (<see cref="IOException"/>, <see cref="HttpRequestException"/>) is read again from the block's start.
/// </summary>
internal sealed class RangedReadStream : ForwardReadStream
{
    private readonly long _length;
    private readonly RangedReadOptions _options;
    private readonly Func<long, int, CancellationToken, Task<Stream>> _readRange;
    private readonly RemoteRetry<ExceptionDispatchInfo?> _retry;
    private readonly CancellationTokenSource _cancel = new();
    private readonly Queue<Task<Block>> _pending = new();
    private long _scheduled;
    private Block _current;
    private int _position;
    private bool _disposed;

    /// <param name="length">The object's size as listed.</param>
    /// <param name="options">Block size, blocks in flight, attempts.</param>
    /// <param name="readRange">Opens the body of bytes [offset, offset + count) of the listed version.</param>
    public RangedReadStream(long length, RangedReadOptions options, Func<long, int, CancellationToken, Task<Stream>> readRange)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _length = length;
        _options = options;
        _readRange = readRange;
        _retry = RemoteRetry<ExceptionDispatchInfo?>.Doubling(Math.Max(1, options.MaxAttempts), options.RetryDelay);
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            if (_current.Buffer is not null && _position < _current.Length)
            {
                var n = Math.Min(buffer.Length, _current.Length - _position);
                _current.Buffer.AsMemory(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }

            Release(ref _current);
            Schedule();
            if (!_pending.TryPeek(out var next))
            {
                return 0;
            }

            // A cancelled read ends the stream: the blocks in flight stop too.
            using (cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), _cancel))
            {
                _current = await next.ConfigureAwait(false);
            }

            _ = _pending.Dequeue();
            _position = 0;
            Schedule();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _cancel.Cancel();
            Release(ref _current);
            while (_pending.TryDequeue(out var task))
            {
                // Blocks still downloading give their buffers back when they end; their errors are observed here.
                _ = task.ContinueWith(
                    static t =>
                    {
                        if (t.IsCompletedSuccessfully && t.Result.Buffer is { } b)
                        {
                            ArrayPool<byte>.Shared.Return(b);
                        }

                        return t.Exception;
                    },
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            _cancel.Dispose();
        }

        base.Dispose(disposing);
    }

    private static void Release(ref Block block)
    {
        if (block.Buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(block.Buffer);
        }

        block = default;
    }

    private static bool IsBrokenBody(Exception e) =>
        e is HttpRequestException || (e is IOException && e is not SourceException)
        || (e is AggregateException a && a.InnerExceptions.All(IsBrokenBody));

    private void Schedule()
    {
        while (_pending.Count < _options.MaxInFlight && _scheduled < _length)
        {
            var count = (int)Math.Min(_options.BlockSize, _length - _scheduled);
            _pending.Enqueue(ReadBlockAsync(_scheduled, count, _cancel.Token));
            _scheduled += count;
        }
    }

    private async Task<Block> ReadBlockAsync(long offset, int count, CancellationToken token)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            var result = await _retry.ExecuteAsync(
                async (_, attemptToken) =>
                {
                    try
                    {
                        var body = await _readRange(offset, count, attemptToken).ConfigureAwait(false);
                        await using (body.ConfigureAwait(false))
                        {
                            await body.ReadExactlyAsync(buffer.AsMemory(0, count), attemptToken).ConfigureAwait(false);
                        }

                        return new RemoteAttempt<ExceptionDispatchInfo?>(RemoteOutcome.Done, null);
                    }
                    catch (Exception e) when (IsBrokenBody(e) && !attemptToken.IsCancellationRequested)
                    {
                        return new RemoteAttempt<ExceptionDispatchInfo?>(RemoteOutcome.Retry, ExceptionDispatchInfo.Capture(e));
                    }
                },
                null,
                token).ConfigureAwait(false);

            result.Last.Value?.Throw(); // the last attempt's break, as it was thrown
            return new Block(buffer, count);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private record struct Block(byte[] Buffer, int Length);
}
