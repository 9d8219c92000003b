using System.Diagnostics;
using System.Threading.Channels;
using EtlStream.Memory;
using EtlStream.Sources;

namespace EtlStream.Pipeline;

/// <summary>
/// Reads an inner stream on its own task into a few pooled buffers, so that decompression runs on one core
/// while the parser consumes on another. At most <c>buffers</c> × <c>bufferBytes</c> are held.
/// </summary>
internal sealed class ReadAheadStream : ForwardReadStream
{
    private readonly Stream _inner;
    private readonly Channel<(byte[] Buffer, int Length)> _filled;
    private readonly CancellationTokenSource _cts;
    private readonly Task _producer;
    private readonly StageClock _producerClock;
    private byte[]? _current;
    private int _currentPos;
    private int _currentLength;
    private bool _done;

    public ReadAheadStream(Stream inner, int buffers, int bufferBytes, StageClock producerClock, CancellationToken cancellationToken)
    {
        _inner = inner;
        _producerClock = producerClock;
        _filled = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(buffers) { SingleReader = true, SingleWriter = true });
        _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _producer = Task.Run(() => ProduceAsync(bufferBytes, _cts.Token), CancellationToken.None);
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_current is not null && _currentPos < _currentLength)
            {
                var n = Math.Min(buffer.Length, _currentLength - _currentPos);
                _current.AsSpan(_currentPos, n).CopyTo(buffer.Span);
                _currentPos += n;
                return n;
            }

            if (_current is not null)
            {
                BufferPool.Return(_current);
                _current = null;
            }

            if (_done)
            {
                return 0;
            }

            if (!await _filled.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _done = true;
                await _producer.ConfigureAwait(false); // surfaces the producer's exception, if any
                return 0;
            }

            if (_filled.Reader.TryRead(out var next))
            {
                (_current, _currentLength, _currentPos) = (next.Buffer, next.Length, 0);
            }
        }
    }

    private async Task ProduceAsync(int bufferBytes, CancellationToken cancellationToken)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                var buffer = BufferPool.Rent(bufferBytes);
                var length = 0;
                var started = Stopwatch.GetTimestamp();

                // Fill the whole buffer: decompressors return small pieces, and fewer hand-offs are cheaper.
                while (length < buffer.Length)
                {
                    var read = await _inner.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                }

                _producerClock.Add(Stopwatch.GetElapsedTime(started));
                if (length == 0)
                {
                    BufferPool.Return(buffer);
                    break;
                }

                await _filled.Writer.WriteAsync((buffer, length), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            error = e;
            throw;
        }
        finally
        {
            _filled.Writer.TryComplete(error);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync().ConfigureAwait(false);
        try
        {
            await _producer.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The consumer already saw (or no longer cares about) the producer's failure.
        }

        while (_filled.Reader.TryRead(out var left))
        {
            BufferPool.Return(left.Buffer);
        }

        if (_current is not null)
        {
            BufferPool.Return(_current);
            _current = null;
        }

        _cts.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_cts.IsCancellationRequested)
        {
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }
}
