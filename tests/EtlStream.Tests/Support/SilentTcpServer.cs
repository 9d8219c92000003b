using System.Net;
using System.Net.Sockets;

namespace EtlStream.Tests.Support;

/// <summary>
/// A port that accepts every connection and never sends a byte, reading and dropping whatever it is sent: a hung
/// database server, StarRocks FE or BE, or a proxy black-holing it. Reading keeps a request body from stalling on a full socket buffer, so what is
/// tested is the wait for an answer.
/// </summary>
internal sealed class SilentTcpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _held = [];
    private int _accepted;
    private long _received;

    public SilentTcpServer()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Bytes received on every connection together.</summary>
    public long Received => Interlocked.Read(ref _received);

    public void Dispose()
    {
        _listener.Stop();
        lock (_held)
        {
            _held.ForEach(s => s.Dispose());
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync();
                Interlocked.Increment(ref _accepted);
                lock (_held)
                {
                    _held.Add(socket);
                }

                _ = DrainAsync(socket);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // stopped
        }
    }

    private async Task DrainAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                Interlocked.Add(ref _received, n);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // the client or the test closed it
        }
    }
}
