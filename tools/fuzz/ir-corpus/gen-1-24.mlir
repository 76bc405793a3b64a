func.func @f0(%a0: tensor<3x7x196xbf16>) -> (tensor<3x7x196xbf16>) {
  %v1_init = tensor.empty() : tensor<3x7x196xbf16>
  %v1 = clus.soft_assign %a0 outs(%v1_init) : tensor<3x7x196xbf16>
  return %v1 : tensor<3x7x196xbf16>
}
