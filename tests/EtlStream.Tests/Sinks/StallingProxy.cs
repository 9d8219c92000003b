using System.Net;
using System.Net.Sockets;

namespace EtlStream.Tests.Sinks;

/// <summary>
/// A TCP proxy in front of a real database server that forwards faithfully (login, catalogue reads, the start of a
/// bulk load) until clients have sent <c>stallAfterBytes</c>, then stops reading and forwarding on every connection,
/// old and new, while keeping them open: a hung server or a proxy that stopped forwarding mid-run.
/// </summary>
internal sealed class StallingProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly long _stallAfterBytes;
    private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Socket> _sockets = [];
    private long _forwarded;

    public StallingProxy(int upstreamPort, long stallAfterBytes)
    {
        _upstreamPort = upstreamPort;
        _stallAfterBytes = stallAfterBytes;
        _listener.Server.ReceiveBufferSize = 16 * 1024;
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public bool Stalled => _stalled.Task.IsCompleted;

    public void Dispose()
    {
        _listener.Stop();
        lock (_sockets)
        {
            _sockets.ForEach(s => s.Dispose());
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync();
                client.ReceiveBufferSize = 16 * 1024;
                Hold(client);
                if (Stalled)
                {
                    continue; // accepted, never answered
                }

                var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                Hold(server);
                await server.ConnectAsync(IPAddress.Loopback, _upstreamPort);
                _ = PumpAsync(client, server, counts: true);
                _ = PumpAsync(server, client, counts: false);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // stopped
        }
    }

    private void Hold(Socket socket)
    {
        lock (_sockets)
        {
            _sockets.Add(socket);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool counts)
    {
        var buffer = new byte[8192];
        try
        {
            while (!Stalled)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0 || Stalled)
                {
                    break;
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
                if (counts && Interlocked.Add(ref _forwarded, n) > _stallAfterBytes)
                {
                    _stalled.TrySetResult();
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // closed
        }
    }
}
