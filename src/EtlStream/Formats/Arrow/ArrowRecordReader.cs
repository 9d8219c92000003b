using Apache.Arrow;
using Apache.Arrow.Ipc;
using EtlStream.Compression;
using EtlStream.Tables;

namespace EtlStream.Formats.Arrow;

/// <summary>
/// Reads one Arrow IPC entry (file or stream) forward as typed batches. A record batch as written may be any size
/// (a Feather file is often one batch per 64 Ki rows, sometimes one for the whole table): each is handed on in
/// slices of the spec's batch rows and bytes, which share its buffers; the batch is freed when its last slice is.
/// </summary>
internal sealed class ArrowRecordReader(Stream input, string source, TableSpec spec) : IRecordReader
{
    private static readonly Apache.Arrow.Compression.CompressionCodecFactory Codecs = new();
    private long _read;
    private ArrowStreamReader? _reader;
    private string[] _header = [];
    private ColumnType?[] _types = [];
    private bool[] _needed = [];
    private RecordBatch? _current;
    private SharedBatch? _owner;
    private int _offset;
    private int _sliceRows;
    private long _rowsRead;
    private long _bytesCounted;

    public long BytesConsumed { get; private set; }

    public IReadOnlyList<string> HeaderWarnings => [];

    public IReadOnlyList<ColumnType?>? HeaderTypes => _types;

    public async ValueTask<IReadOnlyList<string>> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        var peekable = new PeekableReadStream(new Pipeline.CountingReadStream(input, n => _read += n), 4096);
        var head = await peekable.PeekAsync(8, cancellationToken).ConfigureAwait(false);
        if (head.Length == 0)
        {
            return [];
        }

        if (head.Span.StartsWith("ARROW1"u8))
        {
            // A file is "ARROW1", padding to 8 bytes, then the stream (ending in its end marker), then the footer.
            await peekable.ReadExactlyAsync(new byte[8], cancellationToken).ConfigureAwait(false);
        }

        _reader = new ArrowStreamReader(peekable, Codecs, leaveOpen: true);
        Schema schema;
        try
        {
            // The schema is the stream's first message; reading the first batch reads it without blocking a thread.
            _current = await _reader.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false);
            schema = _reader.Schema;
        }
        catch (Exception e) when (IsCorruption(e))
        {
            throw Corrupt(e);
        }

        _header = new string[schema.FieldsList.Count];
        _types = new ColumnType?[_header.Length];
        for (var i = 0; i < _header.Length; i++)
        {
            _header[i] = schema.FieldsList[i].Name;
            _types[i] = ArrowColumns.TypeOf(schema.FieldsList[i].DataType);
        }

        _needed = ArrowColumns.Needed(_header, spec);
        if (!spec.InferColumns)
        {
            ArrowColumns.CheckReadable(source, schema, _needed);
        }

        Start();
        return _header;
    }

    public async ValueTask<TextBatch?> ReadBatchAsync(CancellationToken cancellationToken)
    {
        while (_current is not null && _offset >= _current.Length)
        {
            _owner!.Release(); // the reader's own hold; slices still in the mesh keep it alive
            _current = null;
            try
            {
                _current = await _reader!.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsCorruption(e))
            {
                throw Corrupt(e);
            }

            Start();
        }

        if (_current is null)
        {
            return null;
        }

        var rows = Math.Min(_sliceRows, _current.Length - _offset);
        var columns = new IArrowArray?[_header.Length];
        for (var c = 0; c < columns.Length; c++)
        {
            if (_needed[c])
            {
                columns[c] = ArrowArrayFactory.Slice(_current.Column(c), _offset, rows);
            }
        }

        var share = _current.Length == 0 ? 0 : _bytesCounted * rows / _current.Length;
        var bytes = (_read - BytesConsumed) * rows / Math.Max(1, _current.Length - _offset);
        BytesConsumed += bytes;
        _offset += rows;
        var first = _rowsRead + 1;
        _rowsRead += rows;
        return TextBatch.FromArrow(source, _header, columns, rows, first, bytes, share, _owner!.Hold());
    }

    /// <summary>Takes the batch just read as the one to slice: its size sets the slices' rows.</summary>
    private void Start()
    {
        _offset = 0;
        if (_current is null)
        {
            BytesConsumed = _read;
            return;
        }

        _owner = new SharedBatch(_current);
        _bytesCounted = ArrowColumns.Bytes(_current.Arrays);
        var rowBytes = Math.Max(1, _bytesCounted / Math.Max(1, _current.Length));
        _sliceRows = (int)Math.Clamp(spec.Csv.BatchBytes / rowBytes, 1, spec.Csv.BatchRows);
    }

    private static bool IsCorruption(Exception e) =>
        e is InvalidDataException or EndOfStreamException or ArgumentException or InvalidOperationException or IndexOutOfRangeException or OverflowException or NotSupportedException
        && e is not OperationCanceledException;

    private InvalidDataException Corrupt(Exception e) =>
        e is InvalidDataException { Message: var m } && m.StartsWith(source, StringComparison.Ordinal)
            ? (InvalidDataException)e
            : new InvalidDataException($"{source}: corrupt Arrow IPC data: {e.Message.Split('\n')[0].Trim()}", e);

    public void Dispose()
    {
        if (_current is not null)
        {
            _owner?.Release();
            _current = null;
        }

        _reader?.Dispose();
    }

    /// <summary>A record batch shared by its slices: freed when the reader and every slice have let go.</summary>
    private sealed class SharedBatch(RecordBatch batch)
    {
        private int _holds = 1;

        public IDisposable Hold()
        {
            Interlocked.Increment(ref _holds);
            return new Slice(this);
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _holds) == 0)
            {
                batch.Dispose();
            }
        }

        private sealed class Slice(SharedBatch owner) : IDisposable
        {
            private int _released;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _released, 1) == 0)
                {
                    owner.Release();
                }
            }
        }
    }
}
